"""What the PyTorch benchmarks share (bench/torch_gemm.py, bench/torch_decode.py): CUDA-event timing,
the copy roofline, and the result file's header and output."""
import datetime
import json
import sys

import torch


def timed(fn, iters, warmup=3, budget_s=None):
    """(seconds per call, calls timed) over iters calls after warmup ones, CUDA events; with budget_s,
    fewer calls (at least 5) when the warmup says iters would take longer."""
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(warmup):
        fn()
    end.record()
    torch.cuda.synchronize()
    if budget_s is not None:
        iters = max(5, min(iters, int(budget_s * 1e3 * warmup / max(start.elapsed_time(end), 1e-3))))
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / iters, iters


def copy_row(mib, iters, label):
    """The roofline: dst.copy_(src) of mib MiB, GB/s = 2·bytes/time (read and write)."""
    nbytes = mib * 2**20
    src = torch.randn(nbytes // 4, device="cuda")
    dst = torch.empty_like(src)
    sec, iters = timed(lambda: dst.copy_(src), iters)
    gbps = 2 * nbytes / sec / 1e9
    print(f"{label} copy {nbytes} bytes: {gbps:.1f} GB/s", file=sys.stderr)
    return {"op": "copy", "bytes": nbytes, "timing": "cuda-events", "ms": sec * 1e3, "iters": iters, "gbps": gbps}


def header(bench):
    """The result file's first fields: bench, device, torch and CUDA versions, date."""
    return {
        "bench": bench,
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }


def emit(out, path):
    """The result as JSON on stdout and, when path is given, in that file."""
    text = json.dumps(out, indent=2)
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")
    print(text)
