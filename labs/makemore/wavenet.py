"""The hierarchical model of makemore part 5 ("Building a WaveNet"), with its own layers.

    >>> _ = torch.manual_seed(42)
    >>> model = WaveNet(vocab_size=27, block_size=8, n_embd=24, n_hidden=128)
    >>> sum(p.nelement() for p in model.parameters())      # the lecture's 76579
    76579

Instead of squashing all 8 characters into one layer at once (part 2's MLP), pairs of
neighbours are fused level by level, like the dilated convolutions of WaveNet (2016):
8 characters -> 4 pairs -> 2 -> 1, each fusion a Linear + BatchNorm + tanh.
The layers are the lecture's hand-written versions of torch.nn's, so each is a few lines to read.
"""

from __future__ import annotations

import torch


class Linear:
    def __init__(self, fan_in: int, fan_out: int, bias: bool = True):
        self.weight = torch.randn((fan_in, fan_out)) / fan_in**0.5  # Kaiming-like: keeps the scale
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    """Normalize each channel over the batch (and over the groups of a 3-d input), then
    scale and shift; running averages replace the batch statistics in eval mode."""

    def __init__(self, dim: int, eps: float = 1e-5, momentum: float = 0.1):
        self.eps, self.momentum = eps, momentum
        self.training = True
        self.gamma, self.beta = torch.ones(dim), torch.zeros(dim)  # trained by backprop
        self.running_mean, self.running_var = torch.zeros(dim), torch.ones(dim)  # not trained

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            dims = 0 if x.ndim == 2 else (0, 1)  # (B, C) or (B, T, C)
            xmean = x.mean(dims, keepdim=True)
            xvar = x.var(dims, keepdim=True)
        else:
            xmean, xvar = self.running_mean, self.running_var
        self.out = self.gamma * (x - xmean) / torch.sqrt(xvar + self.eps) + self.beta
        if self.training:
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean.squeeze()
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar.squeeze()
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        return [self.gamma, self.beta]


class Tanh:
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.out = torch.tanh(x)
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        return []


class Embedding:
    def __init__(self, num_embeddings: int, embedding_dim: int):
        self.weight = torch.randn((num_embeddings, embedding_dim))

    def __call__(self, ix: torch.Tensor) -> torch.Tensor:
        self.out = self.weight[ix]  # (B, T) -> (B, T, C)
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        return [self.weight]


class FlattenConsecutive:
    """(B, T, C) -> (B, T/n, C*n): n neighbours side by side; the time axis goes when T/n == 1."""

    def __init__(self, n: int):
        self.n = n

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)
        self.out = x
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        return []


class Sequential:
    def __init__(self, layers: list):
        self.layers = layers

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        return [p for layer in self.layers for p in layer.parameters()]


class WaveNet:
    """Embedding, then log2(block_size) levels of FlattenConsecutive(2) + Linear + BatchNorm + tanh."""

    def __init__(self, vocab_size: int, block_size: int, n_embd: int, n_hidden: int):
        levels = block_size.bit_length() - 1
        if block_size < 2 or 2**levels != block_size:
            raise ValueError(
                f"block_size {block_size}: the WaveNet fuses pairs, so it must be a power of 2 (2, 4, 8, 16...)"
            )
        self.block_size = block_size
        layers: list = [Embedding(vocab_size, n_embd)]
        width = n_embd
        for _ in range(levels):
            layers += [
                FlattenConsecutive(2),
                Linear(width * 2, n_hidden, bias=False),
                BatchNorm1d(n_hidden),
                Tanh(),
            ]
            width = n_hidden
        layers.append(Linear(n_hidden, vocab_size))
        self.net = Sequential(layers)
        with torch.no_grad():
            self.net.layers[
                -1
            ].weight *= 0.1  # a less confident last layer: the first loss is ~ln(27), not 25
        for p in self.parameters():
            p.requires_grad = True

    def parameters(self) -> list[torch.Tensor]:
        return self.net.parameters()

    def named_weights(self) -> list[tuple[str, torch.Tensor]]:
        linears = [layer for layer in self.net.layers if isinstance(layer, Linear)]
        return [("embedding", self.net.layers[0].weight)] + [
            (f"linear {i + 1}", layer.weight) for i, layer in enumerate(linears)
        ]

    @property
    def activations(self) -> list[tuple[str, torch.Tensor]]:
        tanhs = [layer for layer in self.net.layers if isinstance(layer, Tanh) and hasattr(layer, "out")]
        return [(f"tanh {i + 1}", layer.out) for i, layer in enumerate(tanhs)]

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)  # (B, block_size) -> (B, vocab_size)

    def train(self, mode: bool = True) -> None:
        for layer in self.net.layers:
            if isinstance(layer, BatchNorm1d):
                layer.training = mode
