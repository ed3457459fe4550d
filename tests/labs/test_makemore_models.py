"""makemore's pieces against the lecture's numbers: the data split, the bigram figure, the
parameter counts, and sampling."""

from __future__ import annotations

import pytest
import torch

from labs.common.runctx import SettingError
from labs.makemore.bigram import BigramCounts, BigramNet
from labs.makemore.data import Vocabulary, build_dataset, load_words, split_words
from labs.makemore.mlp import MLP
from labs.makemore.sample import sample_names
from labs.makemore.wavenet import WaveNet


@pytest.fixture(scope="module")
def words() -> list[str]:
    return load_words()


@pytest.fixture(scope="module")
def vocab(words) -> Vocabulary:
    return Vocabulary.from_words(words)


def test_names_and_vocabulary(words, vocab):
    assert len(words) == 32033 and words[:3] == ["emma", "olivia", "ava"]
    assert (
        vocab.size == 27 and vocab.itos[0] == "." and "".join(vocab.itos[1:]) == "abcdefghijklmnopqrstuvwxyz"
    )


def test_the_split_is_the_lectures(words, vocab):
    """Part 2's Xtr, Xdev, Xte shapes: [182625, 3], [22655, 3], [22866, 3]."""
    train, dev, test = split_words(words, seed=42)
    assert sorted(train + dev + test) == sorted(words)
    shapes = [tuple(build_dataset(part, 3, vocab)[0].shape) for part in (train, dev, test)]
    assert shapes == [(182625, 3), (22655, 3), (22866, 3)]


def test_contexts_slide(vocab):
    X, Y = build_dataset(["emma"], block_size=3, vocab=vocab)
    assert [vocab.decode(x) for x in X.tolist()] == ["...", "..e", ".em", "emm", "mma"]
    assert vocab.decode(Y.tolist()) == "emma."


def test_bigram_counts_give_the_lectures_2_4546(words, vocab):
    model = BigramCounts.fit(words, vocab, smoothing=1.0)
    assert int(model.N.sum()) == 228146
    assert model.N[0, 1].item() == 4410  # '.a': names starting with a, as the lecture's table
    nll = model.nll(words, vocab)
    assert round(nll, 4) == 2.4546
    assert nll == pytest.approx(2.454577, abs=1e-6)
    # without smoothing the lecture's other figure, 2.4541
    assert round(BigramCounts(model.N, smoothing=0.0).nll(words, vocab), 4) == 2.4540


def test_bigram_net_logits_are_the_lectures_one_hot_product(vocab):
    net = BigramNet(vocab.size, torch.Generator().manual_seed(2147483647))
    X = torch.tensor([[0], [5], [5], [26]])
    one_hot = torch.nn.functional.one_hot(X[:, 0], num_classes=27).float()
    assert torch.allclose(net.logits(X), one_hot @ net.W)


def test_parameter_counts_are_the_lectures():
    mlp = MLP(27, block_size=3, n_embd=10, n_hidden=200, generator=torch.Generator().manual_seed(2147483647))
    assert sum(p.nelement() for p in mlp.parameters()) == 11897
    wavenet = WaveNet(27, block_size=8, n_embd=24, n_hidden=128)
    assert sum(p.nelement() for p in wavenet.parameters()) == 76579


def test_mlp_starts_from_the_lectures_numbers():
    """The tensors come from the generator in the lecture's order: C is its first draw."""
    mlp = MLP(27, 3, 10, 200, torch.Generator().manual_seed(2147483647))
    expected = torch.randn((27, 10), generator=torch.Generator().manual_seed(2147483647))
    assert torch.equal(mlp.C.detach(), expected)


def test_wavenet_wants_a_power_of_two():
    with pytest.raises(ValueError, match="power of 2"):
        WaveNet(27, block_size=6, n_embd=4, n_hidden=8)
    model = WaveNet(27, block_size=4, n_embd=4, n_hidden=8)
    X = torch.zeros((5, 4), dtype=torch.long)
    assert model.logits(X).shape == (5, 27)
    assert [name for name, _ in model.activations] == ["tanh 1", "tanh 2"]


def test_sampling_is_seeded_and_uses_the_vocabulary(words, vocab):
    model = BigramCounts.fit(words, vocab)
    first = sample_names(model, vocab, 20, torch.Generator().manual_seed(1))
    again = sample_names(model, vocab, 20, torch.Generator().manual_seed(1))
    assert first == again and len(first) == 20
    assert all(set(name) <= set(vocab.itos[1:]) for name in first)
    assert sum(map(len, first)) > 20  # not all empty: names of a few letters on average


def test_load_words_refuses_bad_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(SettingError, match="holds no words"):
        load_words(str(empty))
    dotted = tmp_path / "dotted.txt"
    dotted.write_text("a.b\n", encoding="utf-8")
    with pytest.raises(SettingError, match="marks a word"):
        load_words(str(dotted))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SettingError, match="UTF-8"):
        load_words(str(binary))
