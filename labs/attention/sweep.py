"""Time and peak memory of manual attention and SDPA as the sequence grows.

    >>> row = measure("manual", "cpu", batch=1, n_head=2, T=64, head_dim=16)
    >>> sorted(row)
    ['ms', 'peak_mb']

The manual version writes the (B, n_head, T, T) score matrix, and its softmax, to memory:
four times T gives sixteen times the memory. The fused kernels work through the matrix a
tile at a time and keep only O(T) numbers. Peak memory is measured, not computed:
- on CUDA, `torch.cuda.max_memory_allocated` around the call;
- on CPU, in a forked child: how far its peak resident memory (VmHWM, reset at the start)
  rose above where it stood before the call. Each child starts from this process's memory,
  so a measurement never sees the leftovers of the one before. Linux only.
Time is the best of `repeats` calls after one warm-up call.
"""

from __future__ import annotations

import json
import os
import time

import torch

from labs.attention.manual import manual_attention, sdpa_attention

IMPLEMENTATIONS = {"manual": manual_attention, "sdpa": sdpa_attention}


def _status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (its peak) of this process, from /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    """A forked child inherits its parent's peak (VmHWM); writing 5 to clear_refs resets it
    to the memory resident now (Linux 4.0+)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _timed(impl: str, device: str, shape: tuple, dtype: torch.dtype, repeats: int) -> float:
    q, k, v = (torch.randn(shape, device=device, dtype=dtype) for _ in range(3))
    attend = IMPLEMENTATIONS[impl]
    best = float("inf")
    for _ in range(repeats + 1):  # the first call is the warm-up
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        attend(q, k, v)
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - t0)
    return round(best * 1000, 3)


def _measure_cuda(impl: str, device: str, shape: tuple, dtype: torch.dtype, repeats: int) -> dict:
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    ms = _timed(impl, device, shape, dtype, repeats)
    peak = (torch.cuda.max_memory_allocated(device) - before) / 2**20
    return {"ms": ms, "peak_mb": round(peak, 2)}


def _warm_up(dtype: torch.dtype) -> None:
    """Run both once, small: torch's lazy set-up in a fresh child (its thread pool is made
    again after a fork, kernels and allocator caches) costs ~45 MB that no T should be
    charged with (measured: 27 MB for the first randn in a child, 18 MB more for the first SDPA)."""
    q = torch.randn((1, 1, 16, 8), dtype=dtype)
    for attend in IMPLEMENTATIONS.values():
        attend(q, q, q)


def _measure_cpu_forked(impl: str, shape: tuple, dtype: torch.dtype, repeats: int) -> dict:
    if not os.path.exists("/proc/self/clear_refs"):  # not Linux: time only
        return {"ms": _timed(impl, "cpu", shape, dtype, repeats), "peak_mb": None}
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, report through the pipe, leave without cleanup
        try:
            os.close(read_end)
            _warm_up(dtype)
            _reset_peak()
            before = _status_mb("VmRSS")
            ms = _timed(impl, "cpu", shape, dtype, repeats)
            peak = _status_mb("VmHWM") - before
            os.write(write_end, json.dumps({"ms": ms, "peak_mb": round(max(peak, 0.0), 2)}).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    if not data:
        raise RuntimeError(f"the measurement of {impl} at {shape} died (out of memory?)")
    return json.loads(data)


def measure(
    impl: str,
    device: str,
    *,
    batch: int,
    n_head: int,
    T: int,
    head_dim: int,
    dtype: torch.dtype = torch.float32,
    repeats: int = 3,
) -> dict:
    shape = (batch, n_head, T, head_dim)
    if device.startswith("cuda"):
        return _measure_cuda(impl, device, shape, dtype, repeats)
    return _measure_cpu_forked(impl, shape, dtype, repeats)


def crossover(rows: list[dict]) -> int | None:
    """The shortest T from which SDPA is faster than manual at every longer T measured."""
    by_t: dict[int, dict[str, float]] = {}
    for r in rows:
        by_t.setdefault(r["T"], {})[r["impl"]] = r["ms"]
    ts = sorted(t for t, v in by_t.items() if len(v) == 2)
    for i, t in enumerate(ts):
        if all(by_t[u]["sdpa"] < by_t[u]["manual"] for u in ts[i:]):
            return t
    return None
