"""Where the model runs and in what precision: device choice, autocast, GPU figures.

    device = pick_device("auto")            # cuda, then mps, then cpu
    check_precision(device, "bf16")         # SettingError (one line) if it cannot be done
    with autocast(device, "bf16"): ...      # a no-op context for fp32

The speed-up ladder's precision rungs, as in build-nanogpt:
- `matmul_precision`: "highest" is true fp32 matmuls; "high" lets cuda use TF32 tensor
  cores (10-bit mantissa inputs, fp32 accumulate); "medium" allows bf16 internally.
- `dtype`: "bf16" runs matmuls and activations under autocast to bfloat16 (parameters and
  optimizer state stay fp32); "fp16" likewise but needs a GradScaler because fp16's range
  is narrow, so small gradients would flush to zero.

Which GPU is `cuda:N`: torch numbers the GPUs it can see, by default fastest first
(CUDA_DEVICE_ORDER=FASTEST_FIRST), while nvidia-smi and NVML number them by PCI bus. Set
CUDA_DEVICE_ORDER=PCI_BUS_ID so that cuda:1 is nvidia-smi's GPU 1, and CUDA_VISIBLE_DEVICES
to pick GPUs (their numbers, or UUIDs). A MIG slice is a GPU of its own to CUDA: name it by
its MIG UUID in CUDA_VISIBLE_DEVICES (`nvidia-smi -L` lists them); a process sees one slice
only, so DDP over MIG slices of one card is not possible, and NVML reports no utilization
for a slice (the GPU panel then shows memory only).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil

import torch

from labs.common.runctx import SettingError


def pick_device(setting: str = "auto") -> str:
    if setting != "auto":
        kind = setting.split(":")[0]
        if kind == "cuda" and not torch.cuda.is_available():
            raise SettingError(f"device {setting}: this torch sees no CUDA GPU")
        if kind == "mps" and not torch.backends.mps.is_available():
            raise SettingError(f"device {setting}: MPS is not available here")
        if kind not in ("cpu", "cuda", "mps"):
            raise SettingError(f"device {setting!r}: choose auto, cpu, cuda, cuda:N or mps")
        return setting
    if torch.cuda.is_available():
        return "cuda"
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def device_type(device: str) -> str:
    return device.split(":")[0]


def describe(device: str) -> str:
    """e.g. `cpu`, `cuda:0 NVIDIA H100 80GB HBM3`."""
    if device_type(device) == "cuda":
        index = torch.device(device).index or 0
        return f"cuda:{index} {torch.cuda.get_device_name(index)}"
    return device


def gpu_name(device: str) -> str | None:
    if device_type(device) != "cuda":
        return None
    return torch.cuda.get_device_name(torch.device(device).index or 0)


def bf16_supported(device: str) -> bool:
    kind = device_type(device)
    if kind == "cuda":
        # native bf16 only (Ampere and newer): torch would also say yes to V100/T4, where it
        # is emulated and slower than fp32
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if kind == "cpu":
        return True  # works, though ~100x slower than fp32 on most CPUs
    if kind == "mps":
        return True
    return False


def check_precision(device: str, dtype: str, *, allow_slow_cpu_bf16: bool = True) -> None:
    """Refuse combinations that cannot run, each with one line."""
    kind = device_type(device)
    if dtype == "bf16" and not bf16_supported(device):
        raise SettingError(f"dtype bf16: {describe(device)} has no bfloat16 support (use fp16 or fp32)")
    if dtype == "bf16" and kind == "cpu" and not allow_slow_cpu_bf16:
        raise SettingError("dtype bf16 on cpu is ~100x slower than fp32; use dtype=fp32")
    if dtype == "fp16" and kind != "cuda":
        raise SettingError(f"dtype fp16 needs a CUDA GPU (device is {device}); use fp32 or bf16")


def resolve_dtype(device: str, dtype: str) -> str:
    """`auto`, as nanoGPT: bf16 on GPUs that have it, fp16 (with a GradScaler) on older
    ones (V100, T4), fp32 elsewhere (CPU bf16 is very slow)."""
    if dtype != "auto":
        return dtype
    if device_type(device) != "cuda":
        return "fp32"
    return "bf16" if bf16_supported(device) else "fp16"


TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device: str, dtype: str):
    if dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type(device), dtype=TORCH_DTYPES[dtype])


def set_matmul_precision(precision: str) -> None:
    torch.set_float32_matmul_precision(precision)
    # cuDNN convolutions follow the same choice (no convolutions here, but keep them consistent)
    torch.backends.cudnn.allow_tf32 = precision != "highest"


def synchronize(device: str) -> None:
    """Wait for queued GPU work, so step timings measure the work and not the queueing.
    The device is named: on cuda:1 a bare synchronize() would wait on the current device."""
    kind = device_type(device)
    if kind == "cuda":
        torch.cuda.synchronize(torch.device(device))
    elif kind == "mps":
        torch.mps.synchronize()


def use_device(device: str) -> None:
    """Make `cuda:N` the current device, so that kernels, RNG calls (torch.cuda.manual_seed)
    and allocations without an explicit device land on it, not on cuda:0."""
    if device_type(device) == "cuda" and torch.device(device).index is not None:
        torch.cuda.set_device(torch.device(device))


def c_compiler() -> str | None:
    """The C compiler torch.compile's Inductor will call (it honours $CC), or None."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def compile_missing(device: str) -> str | None:
    """Why torch.compile cannot work here (one line), or None when its prerequisites are
    present: Inductor writes C++ (CPU) or Triton kernels (CUDA) and compiles them on the
    first step, so a missing compiler or Triton fails there, 40 s in, with a long trace."""
    if not hasattr(torch, "compile"):
        return "this torch has no torch.compile"
    kind = device_type(device)
    if kind == "cuda" and importlib.util.find_spec("triton") is None:
        return "torch.compile on CUDA needs Triton (pip install triton, or the CUDA build of torch, which ships it)"
    if kind == "cpu" and not any(
        shutil.which(n) for n in (os.environ.get("CXX"), "c++", "g++", "clang++") if n
    ):
        return "torch.compile on the CPU needs a C++ compiler (install g++ or clang)"
    if c_compiler() is None:
        return "torch.compile needs a C compiler (install gcc or clang, or set CC)"
    if kind == "mps":
        return "torch.compile is not supported on MPS here"
    return None


def free_memory(device: str) -> int | None:
    """Bytes free on a CUDA device as the driver counts them (other processes' use taken off);
    None elsewhere: the CPU and MPS share the machine's memory, and no batch is fitted to it."""
    if device_type(device) != "cuda":
        return None
    free, _total = torch.cuda.mem_get_info(torch.device(device))  # cuda (no index): the current one
    return free


def reset_peak_memory(device: str) -> None:
    """Free cached blocks and start the peak-memory count afresh (one ladder rung, one run)."""
    if device_type(device) == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(torch.device(device))


def peak_memory_mb(device: str) -> dict:
    """Peak memory since the last reset: `allocated` is what tensors held at most (what a model
    needs); `reserved` is what torch's caching allocator took from the GPU (what nvidia-smi sees)."""
    if device_type(device) != "cuda":
        return {}
    d = torch.device(device)
    return {
        "gpu_mem_mb": round(torch.cuda.max_memory_allocated(d) / 2**20, 1),
        "gpu_mem_reserved_mb": round(torch.cuda.max_memory_reserved(d) / 2**20, 1),
    }


class GpuStats:
    """Peak memory (torch's allocator: `gpu_mem_mb` is the peak *allocated*, what tensors held;
    `gpu_mem_reserved_mb` the peak *reserved*, what the allocator took from the GPU) and
    utilization (NVML, if nvidia-ml-py is installed)."""

    def __init__(self, device: str):
        self.device = device
        self.cuda = device_type(device) == "cuda"
        self.handle = None
        if self.cuda:
            try:
                import pynvml

                pynvml.nvmlInit()
                self.handle = pynvml.nvmlDeviceGetHandleByIndex(_nvml_index(device))
                self.nvml = pynvml
            except Exception:  # no nvidia-ml-py, no NVML library, no driver access  # noqa: BLE001
                self.handle = None

    def fields(self) -> dict:
        if not self.cuda:
            return {}
        out = peak_memory_mb(self.device)
        if self.handle is not None:
            try:
                out["gpu_util"] = float(self.nvml.nvmlDeviceGetUtilizationRates(self.handle).gpu)
            except self.nvml.NVMLError:  # e.g. a MIG slice reports no utilization
                pass
        return out


def _nvml_index(device: str) -> int:
    """NVML numbers every GPU in the machine, torch only the visible ones: with
    CUDA_VISIBLE_DEVICES=2,3 torch's cuda:0 is NVML's 2."""
    index = torch.device(device).index
    index = torch.cuda.current_device() if index is None else index
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if not visible:
        return index
    try:
        return torch.cuda._get_nvml_device_index(index)  # private, but it also handles GPU UUIDs
    except Exception:  # a private API: whatever it raises, fall back to our reading  # noqa: BLE001
        ids = [v.strip() for v in visible.split(",")]
        return int(ids[index]) if index < len(ids) and ids[index].isdigit() else index
