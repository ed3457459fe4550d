"""Names from a model: start from a context of '.'s, draw a character, slide, repeat until '.'.

    g = torch.Generator().manual_seed(2147483647 + 10)     # the lecture's sampling seed
    names = sample_names(model, vocab, 20, generator=g)

`model.logits(X)` takes X of shape (B, block_size) and returns (B, vocab_size); all
`num` names are drawn side by side, one character for all of them at a time.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from labs.makemore.data import Vocabulary

MAX_LENGTH = 50  # a model that never says '.' still stops


@torch.no_grad()
def sample_names(model, vocab: Vocabulary, num: int, generator: torch.Generator) -> list[str]:
    context = torch.zeros((num, model.block_size), dtype=torch.long)  # (num, block_size) of '.'
    out: list[list[int]] = [[] for _ in range(num)]
    done = torch.zeros(num, dtype=torch.bool)
    for _ in range(MAX_LENGTH):
        probs = F.softmax(model.logits(context), dim=1)  # (num, vocab_size)
        ix = torch.multinomial(probs, num_samples=1, generator=generator)  # (num, 1)
        for i in range(num):
            if not done[i] and ix[i, 0].item() != 0:
                out[i].append(ix[i, 0].item())
        done |= ix[:, 0] == 0
        if done.all():
            break
        context = torch.cat([context[:, 1:], ix], dim=1)
    return [vocab.decode(name) for name in out]
