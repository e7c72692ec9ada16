#!/usr/bin/env python3
"""PyTorch side of the WebGPU benchmarks, same shapes and JSON style.

GEMM: out = x @ w.T for square N (fp32 with TF32 off, and bf16), timed with
CUDA events after warmup; copy: dst.copy_(src) of --mib MiB, GB/s = 2*bytes/time.

  python3 bench/torch_gemm.py [--sizes 1024,2048,4096,8192] [--mib 1024] [--out torch.json]
"""
import argparse
import sys

import torch

from torch_common import copy_row, emit, header, timed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1024,2048,4096,8192")
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    rows = []
    for n in [int(s) for s in a.sizes.split(",") if s]:
        for name, dt in (("f32", torch.float32), ("bf16", torch.bfloat16)):
            x = torch.randn(n, n, device=dev, dtype=dt)
            w = torch.randn(n, n, device=dev, dtype=dt) * 0.05
            iters = max(3, min(a.iters, round(a.iters * 2048**3 / n**3)))
            sec, iters = timed(lambda: x @ w.T, iters)
            rows.append({"op": "gemm", "N": n, "dtype": name, "tf32": False, "timing": "cuda-events", "ms": sec * 1e3, "iters": iters, "tflops": 2 * n**3 / sec / 1e12})
            print(f"torch gemm N={n} {name}: {rows[-1]['tflops']:.2f} TFLOP/s", file=sys.stderr)
            del x, w
    rows.append(copy_row(a.mib, a.iters, "torch"))
    emit(dict(header("torch"), rows=rows), a.out)


if __name__ == "__main__":
    main()
