"""Bengio et al. 2003, "A Neural Probabilistic Language Model", as in makemore part 2.

    >>> g = torch.Generator().manual_seed(2147483647)
    >>> model = MLP(vocab_size=27, block_size=3, n_embd=10, n_hidden=200, generator=g)
    >>> sum(p.nelement() for p in model.parameters())      # the lecture's 11897
    11897

Each of the `block_size` previous characters is looked up in an embedding table C (each
character a point in n_embd-dimensional space); the embeddings are concatenated, go through
one tanh hidden layer, and a linear layer gives the 27 logits of the next character.
The tensors are made in the lecture's order from its generator, so its numbers come back.
"""

from __future__ import annotations

import torch


class MLP:
    def __init__(
        self, vocab_size: int, block_size: int, n_embd: int, n_hidden: int, generator: torch.Generator
    ):
        self.block_size = block_size
        g = generator
        self.C = torch.randn((vocab_size, n_embd), generator=g)  # the embedding table
        self.W1 = torch.randn((block_size * n_embd, n_hidden), generator=g)
        self.b1 = torch.randn(n_hidden, generator=g)
        self.W2 = torch.randn((n_hidden, vocab_size), generator=g)
        self.b2 = torch.randn(vocab_size, generator=g)
        for p in self.parameters():
            p.requires_grad = True
        self.activations: list[tuple[str, torch.Tensor]] = []  # the last forward's, for the diagnostics

    def parameters(self) -> list[torch.Tensor]:
        return [self.C, self.W1, self.b1, self.W2, self.b2]

    def named_weights(self) -> list[tuple[str, torch.Tensor]]:
        """The matrices whose update-to-data ratio the part 3 diagnostics follow."""
        return [("C", self.C), ("W1", self.W1), ("W2", self.W2)]

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        emb = self.C[X]  # (B, block_size, n_embd)
        h = torch.tanh(emb.view(emb.shape[0], -1) @ self.W1 + self.b1)  # (B, n_hidden)
        self.activations = [("tanh 1", h)]
        return h @ self.W2 + self.b2  # (B, vocab_size)

    def train(self, mode: bool = True) -> None:
        """No layer here behaves differently in training (the WaveNet's BatchNorm does)."""
