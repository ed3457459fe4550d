"""Causal self-attention with every step in sight, as written in "Let's build GPT".

    >>> q = k = v = torch.randn(1, 2, 5, 8)            # (B, n_head, T, head_dim)
    >>> manual_attention(q, k, v).shape
    torch.Size([1, 2, 5, 8])

`attention_weights` is the (B, n_head, T, T) matrix itself: row t says how much position t
takes from each earlier position. It is what the fused kernels never write to memory.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def attention_weights(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    T = q.size(-2)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, nh, T, T)
    future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)  # True above the diagonal
    att = att.masked_fill(future, float("-inf"))  # no peeking ahead
    return F.softmax(att, dim=-1)  # rows sum to 1


def manual_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return attention_weights(q, k) @ v  # (B, nh, T, hs)


def sdpa_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The same through PyTorch's fused kernel: FlashAttention where the GPU and dtype allow."""
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)
