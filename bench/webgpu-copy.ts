/**
 * Copy bandwidth of a vec4 copy kernel (dst = src): GB/s = 2·bytes / time
 * (each byte read once and written once), the memory roofline the decode
 * benchmark divides by.
 *
 *   node <bundle>/bench/webgpu-copy.js [--mib 1024] [--iters 20] [--out copy.json]
 */
import { backend, emit, flags, measureCopy, meta } from './lib/bench-common.js';

const f = flags(['mib', 'iters', 'out']);
const b = await backend();
const row = await measureCopy(b, Number(f.mib ?? 1024), Number(f.iters ?? 20));
process.stderr.write(`copy ${row.bytes} bytes: ${row.gbps.toFixed(1)} GB/s\n`);
emit({ bench: 'webgpu-copy', ...meta(b), rows: [row] }, f.out);
b.dispose();
