"""Manual attention against scaled_dot_product_attention: same outputs, same gradients.

    >>> rows = compare("cpu", torch.float64)
    >>> all(row["outputs_match"] and row["grads_match"] for row in rows)
    True

On CUDA, `sdpa_backends` asks torch which of its kernels accept the inputs, one at a time;
the default call takes the first that does, in torch's order (flash, then memory-efficient,
then math), so that first one is the backend that ran.
"""

from __future__ import annotations

from typing import Any

import torch

from labs.attention.manual import manual_attention, sdpa_attention

TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4, torch.float16: 2e-2, torch.bfloat16: 5e-2}


def compare(device: str, dtype: torch.dtype, shapes=((2, 4, 64, 32), (1, 2, 7, 16))) -> list[dict[str, Any]]:
    """For each (B, n_head, T, head_dim): the largest output and gradient differences."""
    g = torch.Generator().manual_seed(0)
    rows = []
    for shape in shapes:
        leaves = [
            torch.randn(shape, generator=g, dtype=torch.float32).to(device, dtype).requires_grad_()
            for _ in range(3)
        ]
        grads_out = torch.randn(shape, generator=g).to(device, dtype)
        results = []
        for attend in (manual_attention, sdpa_attention):
            y = attend(*leaves)
            grads = torch.autograd.grad(y, leaves, grads_out)
            results.append((y.detach(), grads))
        (y_m, g_m), (y_s, g_s) = results
        out_diff = (y_m - y_s).abs().max().item()
        grad_diff = max((a - b).abs().max().item() for a, b in zip(g_m, g_s))
        tol = TOLERANCE[dtype]
        rows.append(
            {
                "shape": list(shape),
                "dtype": str(dtype).removeprefix("torch."),
                "max_out_diff": out_diff,
                "max_grad_diff": grad_diff,
                "outputs_match": out_diff <= tol,
                "grads_match": grad_diff <= tol,
            }
        )
    return rows


def sdpa_backends(device: str, dtype: torch.dtype, shape=(1, 4, 256, 64)) -> dict[str, bool]:
    """{backend: accepts these inputs?} on CUDA; empty elsewhere (CPU has its own kernels)."""
    if not device.startswith("cuda"):
        return {}
    from torch.nn.attention import SDPBackend, sdpa_kernel

    q = k = v = torch.randn(shape, device=device, dtype=dtype)
    found = {}
    for name, backend in (
        ("flash", SDPBackend.FLASH_ATTENTION),
        ("memory-efficient", SDPBackend.EFFICIENT_ATTENTION),
        ("math", SDPBackend.MATH),
    ):
        try:
            with sdpa_kernel([backend]):
                sdpa_attention(q, k, v)
            found[name] = True
        except RuntimeError:
            found[name] = False
    return found
