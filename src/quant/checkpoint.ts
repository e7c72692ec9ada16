/**
 * Per-block checkpoints of a quantization job in a work directory, so a job
 * killed at any moment resumes where it stopped:
 *
 *   job.json                the job's identity (model, method, config, calibration ids hash)
 *   block-0000.safetensors  block 0's packed arrays (U8 tensors "<tensor>::<array>"),
 *                           metadata: "tensors" (format, shape, params per tensor), "reports"
 *   acts.safetensors        F32 [N·T, D] activations entering block `next` (metadata "next")
 *
 * Every file is written atomically, block file first: a kill between the two
 * writes only means block `next` is computed again, with the same result.
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FormatId, FormatParams, PackedTensor } from '../formats/types.js';
import { cannotWrite, InputError } from '../io/errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { openSafetensors, writeSafetensors } from '../io/safetensors.js';
import { tensor, type HostTensor } from '../tensor/tensor.js';
import type { BlockResult, CheckpointStore, LayerReport } from './pipeline.js';

const JOB = 'job.json';
const ACTS = 'acts.safetensors';
const blockFile = (l: number): string => `block-${String(l).padStart(4, '0')}.safetensors`;

interface StoredTensor {
  readonly name: string;
  readonly format: FormatId;
  readonly shape: readonly [number, number];
  readonly params: FormatParams;
  readonly arrays: readonly string[];
}

export class WorkDir implements CheckpointStore {
  readonly dir: string;
  private readonly resume: boolean;

  private constructor(dir: string, resume: boolean) {
    this.dir = dir;
    this.resume = resume;
  }

  /**
   * Opens (resume) or recreates (fresh) the work directory of a job. `job` is
   * any JSON value identifying it; resuming a directory made by another job
   * is an error, never a silent mix. Only a directory lowbit made (one holding
   * job.json) is ever removed: an existing file, or a directory with other
   * contents, is an input error, so a mistyped --work-dir cannot delete data.
   */
  static async open(dir: string, job: unknown, resume: boolean): Promise<WorkDir> {
    const want = JSON.stringify(job);
    const jobFile = join(dir, JOB);
    const st = await stat(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw cannotWrite(dir, e);
    });
    if (st !== null) {
      if (!st.isDirectory()) throw new InputError(dir, 'exists and is not a directory; the work directory must be a new or a lowbit work directory');
      const entries = await readdir(dir);
      if (entries.length > 0 && !entries.includes(JOB)) {
        throw new InputError(dir, `exists and is not a lowbit work directory (no ${JOB}); choose another --work-dir or remove it`);
      }
    }
    if (resume) {
      const have = await readFile(jobFile, 'utf8').catch(() => null);
      if (have !== null && have !== want) {
        throw new InputError(jobFile, 'the work directory belongs to a different job (model, method, config, engine or calibration differ); remove it or drop --resume');
      }
      if (have !== null) return new WorkDir(dir, true);
    }
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(jobFile, async (fh) => void (await fh.writeFile(want)));
    return new WorkDir(dir, false);
  }

  async resumePoint(): Promise<{ next: number; acts: Float32Array } | null> {
    if (!this.resume) return null;
    const path = join(this.dir, ACTS);
    if (!(await stat(path).catch(() => null))) return null;
    const f = await openSafetensors(path);
    try {
      const next = Number(f.metadata.next);
      if (!Number.isInteger(next) || next < 1) throw new InputError(path, `bad checkpoint: next block "${f.metadata.next}"`);
      for (let l = 0; l < next; l++) {
        if (!(await stat(join(this.dir, blockFile(l))).catch(() => null))) throw new InputError(join(this.dir, blockFile(l)), 'checkpoint missing');
      }
      return { next, acts: (await f.read('acts')).data as Float32Array };
    } finally {
      await f.close();
    }
  }

  async save(r: BlockResult, nextActs: Float32Array): Promise<void> {
    const arrays: [string, HostTensor][] = [];
    const stored: StoredTensor[] = [];
    for (const { name, packed } of r.tensors) {
      const names = Object.keys(packed.arrays);
      for (const a of names) {
        const bytes = packed.arrays[a] as Uint8Array;
        arrays.push([`${name}::${a}`, tensor('u8', [bytes.length], bytes)]);
      }
      stored.push({ name, format: packed.format, shape: packed.shape, params: packed.params, arrays: names });
    }
    await writeSafetensors(join(this.dir, blockFile(r.block)), arrays, { tensors: JSON.stringify(stored), reports: JSON.stringify(r.reports) });
    await writeSafetensors(join(this.dir, ACTS), [['acts', tensor('f32', [nextActs.length], nextActs)]], { next: String(r.block + 1) });
  }

  /** Block l's layer reports (the file's header only, no arrays). */
  async reports(l: number): Promise<LayerReport[]> {
    const f = await openSafetensors(join(this.dir, blockFile(l)));
    try {
      return JSON.parse(f.metadata.reports ?? '[]') as LayerReport[];
    } finally {
      await f.close();
    }
  }

  /** Block l's result as saved. */
  async load(l: number): Promise<BlockResult> {
    const path = join(this.dir, blockFile(l));
    const f = await openSafetensors(path);
    try {
      const stored = JSON.parse(f.metadata.tensors ?? '[]') as StoredTensor[];
      const reports = JSON.parse(f.metadata.reports ?? '[]') as LayerReport[];
      const tensors: { name: string; packed: PackedTensor }[] = [];
      for (const s of stored) {
        const arrays: Record<string, Uint8Array> = {};
        for (const a of s.arrays) arrays[a] = (await f.read(`${s.name}::${a}`)).data as Uint8Array;
        tensors.push({ name: s.name, packed: { format: s.format, shape: s.shape, params: s.params, arrays } });
      }
      return { block: l, tensors, reports };
    } finally {
      await f.close();
    }
  }

  /** Removes the work directory (after the output file is in place). */
  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
