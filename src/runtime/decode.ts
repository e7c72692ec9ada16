/**
 * Decoding that never makes the GPU wait for the host: the `argmax` op (greedy)
 * or the `sample` op (temperature, top-k, top-p, with seeded draws the host
 * wrote ahead) picks each next token on the device and leaves it in the step's
 * input ids; the T = 1 step (forward + pick) is recorded once and replayed for
 * every token (Backend.record); the pick also advances the device position, so
 * the host writes the position once and then only re-issues the recorded
 * dispatches, one submit per step; and the generated ids, which the pick also
 * writes into a device history, are read back a chunk at a time while the next
 * chunk is already queued.
 *
 * Recording the step costs the host ~10–30 ms (bind groups for every dispatch); replaying it
 * ~1 ms. A DeviceDecoder keeps its recording, so runs after the first over the same step state
 * and KV cache (a benchmark's timed runs) replay from their first token.
 */
import type { Backend, Recording, SampleDraws, Tensor } from '../backend/backend.js';
import { checkPositions, enqueueForward, setPosition, type KvCache, type LlamaModel, type RunState } from '../model/llama.js';

export interface DeviceDecodeOptions {
  /** Tokens per read-back (default 8): the host learns about a stop token at most this late. */
  readonly chunk?: number;
  /** Stop after yielding one of these ids. */
  readonly stopIds?: readonly number[];
  /**
   * Sample (Backend.sample) instead of argmax: the filter and the draws, uniforms[q] for the token
   * at position q (f32 [kv.rows + 1] at least).
   */
  readonly sample?: SampleDraws;
}

/**
 * The recorded decode step of one step state `dec` (T = 1) and KV cache, greedy or sampled, and the
 * device history of the ids it picks. `run` may be called again (after the last run's generator has
 * finished); `dispose` frees the history (not `dec` or `kv`, which the caller owns and frees after).
 */
export class DeviceDecoder {
  readonly #m: LlamaModel;
  readonly #b: Backend;
  readonly #dec: RunState;
  readonly #kv: KvCache;
  readonly #sample: SampleDraws | undefined;
  #tokens: Tensor | null;
  #rec: Recording | null = null;
  /** Host milliseconds recording the step took, compiling any of its pipelines not made before (null until the first run records it). */
  recordMs: number | null = null;

  constructor(m: LlamaModel, dec: RunState, kv: KvCache, sample?: SampleDraws) {
    if (dec.T !== 1) throw new Error(`decodeOnDevice: the step state must have T = 1, got ${dec.T}`);
    this.#m = m;
    this.#b = m.backend;
    this.#dec = dec;
    this.#kv = kv;
    this.#sample = sample;
    this.#tokens = this.#b.empty('i32', [kv.rows + 1]);
  }

  /**
   * Yields `count` tokens. `dec.ids` must hold the token at position `pos0` (the last one already
   * known); the first yielded id is the token at pos0 + 1. The KV cache must hold rows 0 … pos0 − 1
   * and have room up to pos0 + count − 1.
   */
  async *run(pos0: number, count: number, o: { readonly chunk?: number; readonly stopIds?: readonly number[] } = {}): AsyncGenerator<number> {
    const b = this.#b;
    const tokens = this.#tokens;
    if (tokens === null) throw new Error('DeviceDecoder: run after dispose');
    const m = this.#m;
    const dec = this.#dec;
    const kv = this.#kv;
    checkPositions(m, kv, pos0, count); // the KV cache (and sliding window) hold every step's row
    const chunk = Math.max(1, o.chunk ?? 8);
    const step = (): void => {
      enqueueForward(m, dec, kv);
      const history = { tokens, pos: dec.pos, advance: true };
      if (this.#sample) b.sample(dec.ids, dec.logits, this.#sample, history);
      else b.argmax(dec.ids, dec.logits, history);
    };
    const enqueue = (n: number): void => {
      for (let i = 0; i < n; i++) {
        if (this.#rec === null) {
          const t = performance.now();
          this.#rec = b.record(step);
          this.recordMs = performance.now() - t;
        } else b.replay(this.#rec);
        b.submit(); // each step starts as soon as it is issued (the GPU never waits for a whole chunk)
      }
    };
    try {
      setPosition(m, dec, kv, pos0);
      let queued = Math.min(chunk, count);
      enqueue(queued);
      for (let done = 0; done < count; ) {
        const read = b.read(tokens); // the chunk just queued; the next one is queued before waiting
        const n = queued - done;
        const next = Math.min(chunk, count - queued);
        enqueue(next);
        queued += next;
        const ids = (await read).data as Int32Array;
        for (let i = 0; i < n; i++) {
          const id = ids[pos0 + done + i + 1] as number;
          yield id;
          if (o.stopIds?.includes(id)) return;
        }
        done += n;
      }
    } finally {
      await b.sync().catch(() => undefined); // queued steps finish before the caller frees or reuses their tensors
    }
  }

  /** Frees the id history (the recording holds no tensor of its own). */
  dispose(): void {
    if (this.#tokens) this.#b.free(this.#tokens);
    this.#tokens = null;
    this.#rec = null;
  }
}

/**
 * Yields `count` tokens, greedy or sampled (o.sample), through a DeviceDecoder used once. `dec` (T = 1)
 * must hold in `dec.ids` the token at position `pos0` (the last one already known); the first yielded
 * id is the token at pos0 + 1. The KV cache must hold rows 0 … pos0 − 1 and have room up to pos0 + count − 1.
 */
export async function* decodeOnDevice(m: LlamaModel, dec: RunState, kv: KvCache, pos0: number, count: number, o: DeviceDecodeOptions = {}): AsyncGenerator<number> {
  const d = new DeviceDecoder(m, dec, kv, o.sample);
  try {
    yield* d.run(pos0, count, o);
  } finally {
    d.dispose();
  }
}

/** Runs an id stream to its end and returns the ids (for benchmarks and tests). */
export async function drain(ids: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const id of ids) out.push(id);
  return out;
}
