#!/usr/bin/env python3
"""PyTorch side of the WebGPU benchmarks, same shapes and JSON style.

GEMM: out = x @ w.T for square N (fp32 with TF32 off, and bf16), timed with
CUDA events after warmup; copy: dst.copy_(src) of --mib MiB, GB/s = 2*bytes/time.

  python3 bench/torch_gemm.py [--sizes 1024,2048,4096,8192] [--mib 1024] [--out torch.json]
"""
import argparse
import datetime
import json
import sys

import torch


def timed(fn, iters):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / iters  # seconds per call


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
            sec = timed(lambda: x @ w.T, iters)
            rows.append({"op": "gemm", "N": n, "dtype": name, "tf32": False, "timing": "cuda-events", "ms": sec * 1e3, "iters": iters, "tflops": 2 * n**3 / sec / 1e12})
            print(f"torch gemm N={n} {name}: {rows[-1]['tflops']:.2f} TFLOP/s", file=sys.stderr)
            del x, w
    nbytes = a.mib * 2**20
    src = torch.randn(nbytes // 4, device=dev)
    dst = torch.empty_like(src)
    sec = timed(lambda: dst.copy_(src), a.iters)
    rows.append({"op": "copy", "bytes": nbytes, "timing": "cuda-events", "ms": sec * 1e3, "iters": a.iters, "gbps": 2 * nbytes / sec / 1e9})
    print(f"torch copy {nbytes} bytes: {rows[-1]['gbps']:.1f} GB/s", file=sys.stderr)
    out = {
        "bench": "torch",
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "rows": rows,
    }
    text = json.dumps(out, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
