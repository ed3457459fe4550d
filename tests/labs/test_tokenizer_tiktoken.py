"""gpt2 and cl100k_base built offline, our encoder matching tiktoken's ids, and the export."""

from __future__ import annotations

import socket

import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from labs.tokenizer import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    BasicTokenizer,
    RegexTokenizer,
    encodings,
    from_tiktoken,
    to_tiktoken,
)
from labs.tokenizer.corpus import load_corpus
from labs.tokenizer.tiktoken_bridge import recover_merges

TEXTS = [
    "Hello, world! It's a test; we'll see if they're OK. I'VE DONE IT.",
    "def f(x):\n    return x ** 2  # square\n\n\nclass A:\n\tpass\n",
    "a    b        c\n\n\n\n   \n  \t\t\n end with spaces     ",
    "\r\n\r\nwindows\r\nline endings\r\n",
    "1 12 123 1234 12345 3.14159 1e-10 0xDEADBEEF 1,000,000",
    "emoji 😀🎉👍🏽 👨‍👩‍👧 family and flags 🇫🇷🇯🇵",
    "中文文本，日本語のテキスト、한국어 텍스트 — naïve café Ελληνικά русский",
    "<|endoftext|>first<|endoftext|> second <|endoftext|>\n",
    "fim: <|fim_prefix|>def<|fim_suffix|>return<|fim_middle|> and <|endofprompt|>",
    "    \n",
    "",
    "!!!???... ---- **** ```python``` @@@ ###",
]


# Text made of characters this Python's Unicode tables know. Our split patterns run on the
# `regex` package, tiktoken's on Rust's regex, and each engine has its own Unicode tables: a
# character assigned in a newer Unicode (a letter to `regex`, unassigned to tiktoken) can
# split differently. scripts/unicode_parity.py probes every code point: with Unicode 14
# here, none that it knows splits differently, and 17,480 that it does not know do.
ASSIGNED_TEXT = st.characters(exclude_categories=("Cs", "Cn"))


@pytest.fixture(scope="module")
def gpt2():
    return encodings.get_encoding("gpt2")


@pytest.fixture(scope="module")
def cl100k():
    return encodings.get_encoding("cl100k_base")


@pytest.fixture(scope="module")
def ours_gpt2(gpt2):
    return from_tiktoken(gpt2)


@pytest.fixture(scope="module")
def ours_cl100k(cl100k):
    # recovering 100k merges in pure Python takes ~2 s: once per module
    return from_tiktoken(cl100k)


def test_encodings_build_without_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    gpt2, cl100k = encodings.gpt2(), encodings.cl100k_base()
    assert gpt2.n_vocab == 50257 and gpt2.eot_token == 50256
    assert cl100k.n_vocab == 100277 and cl100k.eot_token == 100257
    # ids everyone knows
    assert gpt2.encode("hello world") == [31373, 995]
    assert cl100k.encode("hello world") == [15339, 1917]
    assert cl100k.encode("<|fim_prefix|>", allowed_special="all") == [100258]


def test_a_changed_file_is_refused(tmp_path):
    bad = tmp_path / "cl100k_base.tiktoken"
    bad.write_bytes(b"aGVsbG8= 0\n")
    with pytest.raises(encodings.EncodingUnavailable, match="sha256"):
        encodings._read_verified(bad, encodings.CL100K_SHA256)


def test_unknown_encoding():
    with pytest.raises(ValueError, match="unknown encoding"):
        encodings.get_encoding("o200k_base")


@pytest.mark.parametrize("text", TEXTS)
def test_gpt2_parity(text, gpt2, ours_gpt2):
    ids = gpt2.encode(text, allowed_special="all")
    assert ours_gpt2.encode(text, allowed_special="all") == ids
    assert ours_gpt2.decode(ids) == text


@pytest.mark.parametrize("text", TEXTS)
def test_cl100k_parity(text, cl100k, ours_cl100k):
    ids = cl100k.encode(text, allowed_special="all")
    assert ours_cl100k.encode(text, allowed_special="all") == ids
    assert ours_cl100k.decode(ids) == text


@settings(max_examples=100, deadline=None)
@given(st.text(ASSIGNED_TEXT, max_size=200))
def test_parity_on_any_text(gpt2, cl100k, ours_gpt2, ours_cl100k, text):
    assert ours_gpt2.encode_ordinary(text) == gpt2.encode_ordinary(text)
    assert ours_cl100k.encode_ordinary(text) == cl100k.encode_ordinary(text)


def test_recovered_tables(gpt2, ours_gpt2):
    # GPT-2's byte tokens are not in byte order: "!" (33) is token 0
    assert ours_gpt2.byte_ids[33] == 0
    assert ours_gpt2.special_tokens == {"<|endoftext|>": 50256}
    assert len(ours_gpt2.merges) == 50000
    assert all(ours_gpt2.vocab[i] == gpt2.decode_single_token_bytes(i) for i in range(0, 50257, 97))


def test_recover_merges_on_a_tiny_vocabulary():
    ranks = {bytes([b]): b for b in range(256)}
    ranks[b"ab"] = 256
    ranks[b"abc"] = 257
    ranks[b"cab"] = 258  # from "c" + "ab": "ab" has the lower rank, so it merged first
    assert recover_merges(ranks) == {(97, 98): 256, (256, 99): 257, (99, 256): 258}


def test_a_recovered_tokenizer_cannot_be_saved_as_minbpe(ours_gpt2, tmp_path):
    with pytest.raises(ValueError, match="byte order"):
        ours_gpt2.save(tmp_path / "gpt2")


@pytest.fixture(scope="module")
def corpus():
    text, heldout, _ = load_corpus(None, max_bytes=300_000, holdout=0.2, seed=1)
    return text, heldout


@pytest.fixture(scope="module", params=["gpt2", "gpt4", "none"])
def trained(request, corpus):
    pattern = {"gpt2": GPT2_SPLIT_PATTERN, "gpt4": GPT4_SPLIT_PATTERN, "none": None}[request.param]
    tok = BasicTokenizer() if pattern is None else RegexTokenizer(pattern)
    tok.train(corpus[0][:100_000] if pattern is None else corpus[0], 256 + 700)
    if pattern is not None:
        tok.register_special_tokens({"<|endoftext|>": 956})
    return tok


def test_to_tiktoken_gives_our_ids(trained, corpus):
    enc = to_tiktoken(trained)
    assert isinstance(enc, tiktoken.Encoding)
    heldout = corpus[1][:20_000]
    for text in [heldout] + TEXTS:
        if isinstance(trained, RegexTokenizer):
            assert enc.encode(text, allowed_special="all") == trained.encode(text, allowed_special="all")
        else:
            assert enc.encode_ordinary(text) == trained.encode(text)


@settings(max_examples=100, deadline=None)
@given(text=st.text(ASSIGNED_TEXT, max_size=100))
def test_to_tiktoken_on_any_text(trained, text):
    enc = to_tiktoken(trained)
    ours = trained.encode_ordinary(text) if isinstance(trained, RegexTokenizer) else trained.encode(text)
    assert enc.encode_ordinary(text) == ours


def test_to_tiktoken_refuses_duplicate_bytes():
    tok = RegexTokenizer()
    tok.set_merges({(97, 98): 256, (256, 99): 257, (98, 99): 258, (97, 258): 259})  # "abc" twice
    with pytest.raises(ValueError, match="same bytes"):
        to_tiktoken(tok)
