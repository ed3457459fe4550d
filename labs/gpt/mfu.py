"""Model FLOPs utilization: the share of the device's peak that training turns into model math.

    flops_per_token(n_params, n_layer, n_head, n_embd // n_head, block_size)
    mfu(tok_per_s, flops_per_token, peak_flops("NVIDIA H100 80GB HBM3", "bf16"))   # 0..1

FLOPs per token (PaLM paper, appendix B; nanoGPT's `estimate_mfu`):

    6N + 12 * L * H * Q * T

N parameters (nanoGPT counts them without the position embeddings), L layers, H heads,
Q head size, T sequence length. A forward pass costs 2 FLOPs per parameter per token
(one multiply, one add) and the backward pass twice that: 6N. Attention adds the
QK^T and attention-times-V matmuls, which have no parameters: 2 * 2 * L * H * Q * T
forward, three times that with the backward pass: 12 * L * H * Q * T.

MFU = (tokens per second * FLOPs per token) / peak FLOPs per second. The peak is the
device's dense (not 2:4 sparse) tensor-core rate for the precision the matmuls run in:
bf16/fp16 under autocast, TF32 for fp32 with matmul_precision high/medium, plain fp32
for "highest". A device not in the table (any CPU) has no MFU: None, never a guess.
"""

from __future__ import annotations

# Dense peak TFLOPS per GPU: (bf16/fp16 tensor, tf32 tensor, fp32 non-tensor).
# Sources: NVIDIA's product datasheets (A100: "NVIDIA A100 Tensor Core GPU" datasheet;
# H100/H200: "NVIDIA H100 Tensor Core GPU" and "NVIDIA H200" datasheets, SXM and PCIe
# columns; L4, L40S, A10, A10G (AWS's A10 variant, lower clocks: AWS G5 documentation),
# T4, V100: their datasheets; GeForce: the Ada and Ampere architecture whitepapers,
# fp16/bf16 with fp32 accumulate). Datasheets list sparse figures with an asterisk; these
# are half of those. Order matters: more specific names first.
PEAK_TFLOPS: list[tuple[str, tuple[float | None, float | None, float]]] = [
    ("H100 PCIe", (756.0, 378.0, 51.2)),
    ("H100 NVL", (835.5, 417.5, 60.0)),
    ("GH200", (989.4, 494.7, 66.9)),  # before "H200", which its name contains
    ("H100", (989.4, 494.7, 66.9)),  # SXM5 ("NVIDIA H100 80GB HBM3")
    ("H200 NVL", (835.5, 417.5, 60.0)),
    ("H200", (989.4, 494.7, 66.9)),  # SXM: the same compute as the H100 SXM, more memory
    ("H800", (989.4, 494.7, 66.9)),
    ("A100", (312.0, 156.0, 19.5)),
    ("A800", (312.0, 156.0, 19.5)),
    ("L40S", (362.05, 183.0, 91.6)),
    ("L40", (181.0, 90.5, 90.5)),
    ("L4", (121.0, 60.0, 30.3)),
    ("A10G", (70.0, 35.0, 35.0)),
    ("A10", (125.0, 62.5, 31.2)),
    ("RTX 4090", (165.2, 82.6, 82.6)),
    ("RTX 3090", (71.0, 35.6, 35.6)),
    ("A6000", (154.8, 77.4, 38.7)),  # RTX A6000
    ("V100-PCIE", (None, None, 14.0)),  # no bf16, no tf32: fp16 tensor cores only (below)
    ("V100", (None, None, 15.7)),
    ("T4", (None, None, 8.1)),
]
# GPUs whose tensor cores do fp16 but not bf16: their fp16 peak (dtype=fp16 with a GradScaler)
FP16_ONLY_TFLOPS = {"V100-PCIE": 112.0, "V100": 125.0, "T4": 65.0}


def peak_flops(gpu_name: str | None, dtype: str = "bf16", matmul_precision: str = "high") -> float | None:
    """Peak FLOP/s for this device and precision, or None when we do not know it."""
    if not gpu_name:
        return None
    for key, (bf16, tf32, fp32) in PEAK_TFLOPS:
        if key.lower() in gpu_name.lower():
            if dtype in ("bf16", "fp16"):
                tflops = FP16_ONLY_TFLOPS.get(key) if dtype == "fp16" and bf16 is None else bf16
            elif matmul_precision in ("high", "medium"):
                tflops = tf32
            else:
                tflops = fp32
            return None if tflops is None else tflops * 1e12
    return None


def flops_per_token(n_params: int, n_layer: int, n_head: int, head_size: int, block_size: int) -> int:
    """6N + 12 * L * H * Q * T: training FLOPs (forward + backward) for one token."""
    return 6 * n_params + 12 * n_layer * n_head * head_size * block_size


def mfu(tok_per_s: float, flops_per_tok: float, peak: float | None) -> float | None:
    """Fraction of peak (0.4 means 40%), or None if the peak is unknown."""
    if peak is None or peak <= 0:
        return None
    return tok_per_s * flops_per_tok / peak
