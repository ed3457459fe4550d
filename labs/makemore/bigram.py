"""The bigram model twice: by counting (part 1's first half) and as a one-layer net (its second).

    >>> words = load_words(); vocab = Vocabulary.from_words(words)
    >>> counts = BigramCounts.fit(words, vocab)
    >>> round(counts.nll(words), 4)                 # the lecture's figure, +1 smoothing
    2.4546

Both predict the next character from the current one only. The counting model reads the
answer off a 27x27 table of how often each pair occurs; the neural net starts from random
weights W (27x27 too) and learns by gradient descent what the table says, and arrives at
the same loss: `one_hot(x) @ W` picks row x of W, so exp(W) plays the role of the counts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from labs.makemore.data import BOUNDARY, Vocabulary, build_dataset, load_words  # noqa: F401 (doctest)


class BigramCounts:
    """P[i, j] = (N[i, j] + smoothing) / sum_j (N[i, j] + smoothing), N the pair counts."""

    block_size = 1

    def __init__(self, N: torch.Tensor, smoothing: float = 1.0):
        self.N = N  # (27, 27) int64: N[i, j] = count of "ij"
        P = (N + smoothing).double()
        self.P = P / P.sum(1, keepdim=True)  # (27, 27), rows sum to 1
        self.vocab_size = N.shape[0]

    @classmethod
    def fit(cls, words: list[str], vocab: Vocabulary, smoothing: float = 1.0) -> "BigramCounts":
        X, Y = build_dataset(words, 1, vocab)
        N = torch.zeros((vocab.size, vocab.size), dtype=torch.long)
        N.index_put_((X[:, 0], Y), torch.ones_like(Y), accumulate=True)
        return cls(N, smoothing)

    def nll(self, words: list[str], vocab: Vocabulary | None = None) -> float:
        """Average negative log-likelihood of every pair in `words`, in float64.

        The lecture prints 2.4544 because it adds 228,146 float32 logs one at a time; the
        exact average is 2.45458."""
        vocab = vocab or Vocabulary.from_words(words)
        X, Y = build_dataset(words, 1, vocab)
        return -torch.log(self.P[X[:, 0], Y]).mean().item()

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        return torch.log(self.P[X[:, 0]]).float()  # (B, 27): log-probabilities are logits

    def train(self, mode: bool = True) -> None:
        """Nothing to switch: only the WaveNet's BatchNorm behaves differently in training."""


class BigramNet:
    """logits = one_hot(x) @ W: one linear layer, no bias, trained on all pairs at once."""

    block_size = 1

    def __init__(self, vocab_size: int, generator: torch.Generator):
        self.W = torch.randn((vocab_size, vocab_size), generator=generator, requires_grad=True)
        self.vocab_size = vocab_size

    def parameters(self) -> list[torch.Tensor]:
        return [self.W]

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        # The lecture's one_hot(x) @ W (a (B, 27) one-hot matrix times W) picks row x of W;
        # indexing does the same without the one-hot matrix, 3x faster a step (measured).
        return self.W[X[:, 0]]  # (B, 27): log-counts

    def loss(
        self, X: torch.Tensor, Y: torch.Tensor, regularization: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(the loss to descend, the plain NLL). The regularization pulls W towards 0, i.e.
        towards uniform probabilities: the same job as the counts' +1 smoothing."""
        nll = F.cross_entropy(self.logits(X), Y)
        return nll + regularization * (self.W**2).mean(), nll

    def train(self, mode: bool = True) -> None:
        """Nothing to switch: only the WaveNet's BatchNorm behaves differently in training."""
