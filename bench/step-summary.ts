/**
 * One line per decode row of bench/packed-decode or bench/webgpu-decode JSON files: commit,
 * format, T = 1 tiling, flash-decoding's keys per split, tok/s, fraction of roofline, the recorded
 * step's GPU time and each matmul's and attention's in-sequence time per dispatch (µs). For comparing builds timed in one device call
 * (tools/device/variants.sh); bench/decode-collect.mjs makes the full tables.
 *
 *   node <bundle>/bench/step-summary.js a.json b.json ...
 */
import { readFileSync } from 'node:fs';

interface Op {
  readonly what: string;
  readonly count: number;
  readonly seq_us?: number;
}
interface Row {
  readonly format?: string;
  readonly ilv1?: unknown;
  readonly int1?: unknown;
  readonly attention?: { readonly flashKeys?: number; readonly onePassMaxKeys?: number };
  readonly kv_cache?: string;
  readonly tokens_per_s: number;
  readonly fraction_of_roofline: number;
  readonly profile?: { readonly gpu_ms: number; readonly ops: readonly Op[] };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node bench/step-summary.js <packed-decode or webgpu-decode JSON> ...');
  process.exit(2);
}
for (const file of files) {
  let d: { commit?: string; rows?: readonly Row[] };
  try {
    d = JSON.parse(readFileSync(file, 'utf8')) as typeof d;
  } catch (e) {
    console.log(`${file}: unreadable (${(e as Error).message})`);
    continue;
  }
  for (const r of d.rows ?? []) {
    const layers = Math.max(...(r.profile?.ops ?? []).map((o) => o.count), 1);
    const ops = (r.profile?.ops ?? [])
      // a layer's matmuls (layer 0's q|k|v reads no prepared input: its label is another, one op short)
      .filter((o) => o.count >= layers - 1 && (o.what.startsWith('matmul') || o.what.startsWith('attention')) && o.seq_us !== undefined)
      .map((o) => `${o.what.replace(/^matmul x\[1, \d+\] w /, '').replace(/^attention .* pos0 \d+( \+ pos)? /, 'attention ')} ${((o.seq_us as number) / o.count).toFixed(1)}`);
    const tiling = r.ilv1 ?? r.int1;
    console.log(
      [
        d.commit ?? '?',
        r.format ?? 'bf16',
        tiling ? Object.values(tiling as Record<string, number>).join('×') : '',
        r.attention?.flashKeys !== undefined ? `flash ${r.attention.flashKeys} above ${r.attention.onePassMaxKeys}` : '',
        r.kv_cache ? `KV ${r.kv_cache}` : '',
        `${r.tokens_per_s.toFixed(1)} tok/s`,
        `${(100 * r.fraction_of_roofline).toFixed(1)} %`,
        `step ${r.profile ? r.profile.gpu_ms.toFixed(3) : '–'} ms`,
        ...ops,
      ].join(' | '),
    );
  }
}
