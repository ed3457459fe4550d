"""The GPT lab's data: tokenizers, the token cache, .bin shards, batches."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch

from labs.gpt import data as gdata
from labs.gpt.data import Batches, DataError, load_codec, load_data

STDLIB = Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYTUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def text_file(tmp_path) -> Path:
    path = tmp_path / "text.txt"
    path.write_text((STDLIB / "textwrap.py").read_text(encoding="utf-8") + "\nnaïve café\n", encoding="utf-8")
    return path


def test_gpt2_codec_is_gpt2():
    codec = load_codec("gpt2")
    assert codec.vocab_size == 50257 and codec.eot == 50256
    assert codec.encode("hello world") == [31373, 995]
    assert codec.decode([31373, 995]) == "hello world"


def test_char_data_round_trips_and_splits(text_file):
    d = load_data("char", str(text_file), max_bytes=10**6, val_fraction=0.1)
    text = text_file.read_text(encoding="utf-8")
    assert d.codec.vocab_size == len(set(text))
    tokens = np.concatenate([d.train, d.val])
    assert d.codec.decode(tokens.tolist()) == text
    assert len(d.val) == int(len(tokens) * 0.1)


def test_max_bytes_caps_the_text(text_file):
    d = load_data("char", str(text_file), max_bytes=1000, val_fraction=0.0)
    assert len(d.train) <= 1000


def test_second_load_uses_the_cache(text_file, monkeypatch, home):
    first = load_data("gpt2", str(text_file), max_bytes=10**6)
    assert first.cache_path and Path(first.cache_path).is_relative_to(home / "cache" / "tokens")

    def boom(*a, **k):
        raise AssertionError("tokenized again")

    monkeypatch.setattr(gdata, "_tokenize_to_cache", boom)
    second = load_data("gpt2", str(text_file), max_bytes=10**6)
    assert second.cache_path == first.cache_path
    assert np.array_equal(np.asarray(second.train), np.asarray(first.train))
    # another tokenizer, or a changed file, is another cache entry
    with pytest.raises(AssertionError, match="tokenized again"):
        load_data("char", str(text_file), max_bytes=10**6)
    text_file.write_text("changed text " * 100, encoding="utf-8")
    with pytest.raises(AssertionError, match="tokenized again"):
        load_data("gpt2", str(text_file), max_bytes=10**6)


def test_default_corpus_is_the_standard_library():
    d = load_data("gpt2", None, max_bytes=20_000)
    assert "standard library" in d.source
    assert d.codec.eot in np.asarray(d.train)  # documents are separated by <|endoftext|>
    again = load_data("gpt2", None, max_bytes=20_000)
    assert again.cache_path == d.cache_path  # a fixed file order: one cache for every run


def test_raw_uint16_bin(tmp_path):
    tokens = np.arange(1000, dtype=np.uint16) % 50257
    path = tmp_path / "train.bin"
    tokens.tofile(path)
    d = load_data("gpt2", str(path), val_fraction=0.1)
    assert np.array_equal(np.concatenate([d.train, d.val]), tokens)
    assert d.cache_path is None


def test_llmc_bin_with_header_and_val_shards(tmp_path):
    def write(path, tokens):
        header = np.zeros(256, dtype=np.int32)
        header[:3] = [20240520, 1, len(tokens)]
        with open(path, "wb") as f:
            f.write(header.tobytes())
            f.write(np.asarray(tokens, dtype=np.uint16).tobytes())

    write(tmp_path / "fineweb_train_000001.bin", range(100, 700))
    write(tmp_path / "fineweb_train_000002.bin", range(700, 900))
    write(tmp_path / "fineweb_val_000000.bin", range(5, 205))
    d = load_data("gpt2", str(tmp_path))
    assert np.array_equal(d.train, np.arange(100, 900))
    assert np.array_equal(d.val, np.arange(5, 205))


def test_bin_ids_beyond_the_vocabulary_are_refused(tmp_path):
    path = tmp_path / "x.bin"
    np.full(500, 60000, dtype=np.uint16).tofile(path)
    with pytest.raises(DataError, match="token id 60000"):
        load_data("gpt2", str(path))


def test_tokenizer_from_a_tokenizer_lab_run(home, text_file):
    tokenizer = pytest.importorskip("labs.tokenizer")
    tok = tokenizer.RegexTokenizer(tokenizer.GPT4_SPLIT_PATTERN)
    tok.train(text_file.read_text(encoding="utf-8"), vocab_size=300)
    run_dir = home / "runs" / "tokenizer-20250101-000000-abcd"
    run_dir.mkdir(parents=True)
    tok.save(str(run_dir / "tokenizer"))
    codec = load_codec("run:tokenizer-20250101-000000-abcd")
    assert codec.vocab_size == 300
    sample = "def wrap(text, width=70):"
    assert codec.encode(sample) == tok.encode(sample)
    assert codec.decode(codec.encode(sample)) == sample
    assert load_codec(str(run_dir / "tokenizer.model")).encode(sample) == tok.encode(sample)
    d = load_data("run:tokenizer-20250101-000000-abcd", str(text_file))
    assert int(np.max(d.train)) < 300
    with pytest.raises(DataError, match="no tokenizer.model"):
        load_codec("run:tokenizer-19990101-000000-0000")


def test_unknown_tokenizer_is_a_one_line_error():
    with pytest.raises(DataError, match="not gpt2, char, run:<run-id> or a .model file"):
        load_codec("nonsense")


def _tokens(n=5000):
    return gdata.TokenData(
        np.arange(n, dtype=np.uint16) % 97, np.arange(500, dtype=np.uint16) % 97, None, "test", None
    )


def test_batches_are_windows_with_shifted_targets():
    b = Batches(_tokens(), batch_size=3, block_size=8, seed=1)
    [(x, y)] = b.train_micro_batches(1)
    assert x.shape == y.shape == (3, 8)
    assert torch.equal(x[:, 1:], y[:, :-1])


def test_batch_state_is_the_data_position():
    b = Batches(_tokens(), batch_size=2, block_size=8, seed=1)
    b.train_micro_batches(1)
    state = b.state()
    after = b.train_micro_batches(2)
    b.load_state(state)
    again = b.train_micro_batches(2)
    assert all(torch.equal(a[0], c[0]) for a, c in zip(after, again))


def test_ranks_split_the_global_batch_like_accumulation():
    one = Batches(_tokens(), batch_size=2, block_size=8, seed=3).train_micro_batches(4)
    ranks = [
        Batches(_tokens(), batch_size=2, block_size=8, seed=3).train_micro_batches(2, rank=r, world_size=2)
        for r in range(2)
    ]
    assert all(torch.equal(a[0], b[0]) for a, b in zip(one, ranks[0] + ranks[1]))


def test_too_little_data_for_the_block_size():
    with pytest.raises(DataError, match="fewer than block_size"):
        Batches(_tokens(), batch_size=2, block_size=600, seed=1)


# -- shipped data sets (labs/data) ---------------------------------------------------------

SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def test_shakespeare_is_shipped_and_hashes_to_the_published_sha256():
    import hashlib

    from labs import data as datasets

    path = datasets.path("shakespeare")
    assert path.name == "tinyshakespeare.txt" and path.stat().st_size == 1_115_394
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHAKESPEARE_SHA256
    assert "shakespeare" in datasets.names()


def test_data_shakespeare_is_nanogpts_shakespeare_char():
    d = load_data("char", "shakespeare", max_bytes=2_000_000, val_fraction=0.1)
    # nanoGPT's data/shakespeare_char/prepare.py: 65 characters, the first 90% for training
    assert d.codec.vocab_size == 65
    assert len(d.train) + len(d.val) == 1_115_394 and len(d.val) == 111_539
    assert d.codec.decode(np.asarray(d.train[:15]).tolist()) == "First Citizen:\n"
    assert d.source.startswith("shakespeare (tinyshakespeare.txt")


@pytest.fixture
def shipped_copy(tmp_path, monkeypatch):
    """labs.data pointed at a copy of its folder, to damage without touching the package."""
    from labs import data as datasets

    folder = tmp_path / "shipped"
    folder.mkdir()
    (folder / "tinyshakespeare.txt").write_bytes(datasets.path("shakespeare").read_bytes())
    monkeypatch.setattr(datasets, "HERE", folder)
    monkeypatch.setattr(datasets, "_verified", set())
    return folder / "tinyshakespeare.txt"


def test_a_changed_data_set_is_a_one_line_error(shipped_copy):
    from labs import data as datasets

    blob = bytearray(shipped_copy.read_bytes())
    blob[100] ^= 1  # one bit: same size, other hash
    shipped_copy.write_bytes(bytes(blob))
    with pytest.raises(datasets.DataSetError) as e:
        load_data("char", "shakespeare")
    assert "sha256 differs" in str(e.value) and "\n" not in str(e.value)


def test_a_missing_data_set_is_a_one_line_error(shipped_copy):
    from labs import data as datasets

    shipped_copy.unlink()
    with pytest.raises(datasets.DataSetError, match="is missing") as e:
        datasets.path("shakespeare")
    assert "\n" not in str(e.value)


def test_an_unknown_data_set_name_lists_the_shipped_ones():
    from labs import data as datasets

    with pytest.raises(datasets.DataSetError, match="shipped: .*shakespeare"):
        datasets.path("shakespear")
