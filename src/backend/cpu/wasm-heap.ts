/**
 * A first-fit allocator over a WebAssembly memory, so that tensors can live
 * where the WASM GEMM kernel reads them (no copy per call) and per-call
 * scratch can be placed there when they do not.
 *
 * Blocks are 64-byte aligned; address 0…63 is never handed out (the kernel
 * reads pointer 0 as "no bias"). The memory grows on demand up to its maximum
 * (4 GiB for wasm32); `alloc` returns null when it cannot. Growing an unshared
 * memory detaches its old ArrayBuffer, so views into an unshared heap must be
 * made after the last `alloc` and not kept; a shared memory's old
 * SharedArrayBuffers stay valid, so tensors may live there.
 */

const ALIGN = 64;
const PAGE = 65536;

/** A free region [off, off + size). */
interface Region {
  off: number;
  size: number;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  /** Free regions sorted by offset, never adjacent (merged on free). */
  private readonly freeList: Region[] = [];
  /** Sizes of the live blocks by offset. */
  private readonly live = new Map<number, number>();
  /** Every buffer object this memory has handed out (one per size for a shared memory). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  constructor(memory: WebAssembly.Memory, shared: boolean) {
    this.memory = memory;
    this.shared = shared;
    const end = memory.buffer.byteLength;
    if (end > ALIGN) this.freeList.push({ off: ALIGN, size: end - ALIGN });
    this.buffers.add(memory.buffer);
  }

  /** The memory's current buffer (remembered, so `owns` recognises views made on it). */
  get buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    this.buffers.add(b);
    return b;
  }

  /** Whether `view` lies in this heap's memory (true only for a shared memory, whose views survive growth). */
  owns(view: ArrayBufferView): boolean {
    return this.shared && this.buffers.has(view.buffer);
  }

  /** Bytes in live blocks. */
  used = 0;

  /** The offset of a new block of `bytes` (zero-filled when `zero`), or null when the memory cannot grow enough. */
  alloc(bytes: number, zero = true): number | null {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let i = this.freeList.findIndex((r) => r.size >= size);
    if (i < 0) {
      if (!this.grow(size)) return null;
      i = this.freeList.findIndex((r) => r.size >= size);
      if (i < 0) return null;
    }
    const r = this.freeList[i]!;
    const off = r.off;
    if (r.size === size) this.freeList.splice(i, 1);
    else {
      r.off += size;
      r.size -= size;
    }
    this.live.set(off, size);
    this.used += size;
    if (zero) new Uint8Array(this.memory.buffer, off, size).fill(0);
    return off;
  }

  /** Returns a block to the heap; unknown offsets throw (a double free is a bug). */
  free(off: number): void {
    const size = this.live.get(off);
    if (size === undefined) throw new Error(`wasm heap: free of ${off}, which is not a live block`);
    this.live.delete(off);
    this.used -= size;
    this.insertFree(off, size);
  }

  private insertFree(off: number, size: number): void {
    const list = this.freeList;
    let i = 0;
    while (i < list.length && list[i]!.off < off) i++;
    const prev = i > 0 ? list[i - 1] : undefined;
    const next = list[i];
    if (prev && prev.off + prev.size === off) {
      prev.size += size;
      if (next && prev.off + prev.size === next.off) {
        prev.size += next.size;
        list.splice(i, 1);
      }
    } else if (next && off + size === next.off) {
      next.off = off;
      next.size += size;
    } else {
      list.splice(i, 0, { off, size });
    }
  }

  /** Grows the memory so that a block of `size` fits at its end; false at the maximum. */
  private grow(size: number): boolean {
    const end = this.memory.buffer.byteLength;
    const last = this.freeList[this.freeList.length - 1];
    const tailFree = last && last.off + last.size === end ? last.size : 0;
    const need = size - tailFree;
    // Grow by at least a quarter of the current size so that many small tensors cost few grows.
    const pages = Math.max(Math.ceil(need / PAGE), Math.ceil(end / PAGE / 4));
    for (const p of [pages, Math.ceil(need / PAGE)]) {
      try {
        this.memory.grow(p);
        this.buffers.add(this.memory.buffer);
        this.insertFree(end, p * PAGE);
        return true;
      } catch {
        // RangeError past the maximum: retry with the exact need, then give up.
      }
    }
    return false;
  }
}
