"""BPE tokenizers: training, encoding, the minbpe file format, and the two trainers agreeing."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labs.tokenizer import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    BasicTokenizer,
    RegexTokenizer,
    load_tokenizer,
    train_fast,
    train_reference,
)
from labs.tokenizer.pairs import get_stats, merge

# A little real text: a slice of the standard library's own source, plus some non-ASCII.
STDLIB_TEXT = Path(sysconfig.get_paths()["stdlib"], "textwrap.py").read_text(encoding="utf-8")[:6000]
UNICODE_TEXT = "naïve café — 你好，世界！ こんにちは 😀👍🏽 Ελληνικά   \n\n\t tabs\r\nend  "
TRAIN_TEXT = STDLIB_TEXT + UNICODE_TEXT


def test_get_stats_counts_overlapping_pairs():
    assert get_stats([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    assert get_stats([7, 7, 7]) == {(7, 7): 2}


def test_merge_goes_left_to_right():
    assert merge([7, 7, 7], (7, 7), 99) == [99, 7]
    assert merge([1, 2, 3, 1, 2], (1, 2), 9) == [9, 3, 9]


@pytest.mark.parametrize("make", [BasicTokenizer, RegexTokenizer], ids=["basic", "regex"])
def test_wikipedia_example(make):
    # https://en.wikipedia.org/wiki/Byte_pair_encoding, as in minbpe's tests
    tok = make()
    tok.train("aaabdaaabac", 256 + 3)
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert tok.decode([258, 100, 258, 97, 99]) == "aaabdaaabac"
    assert tok.vocab[258] == b"aaab"


def test_trainers_learn_the_same_merges_on_real_text():
    chunks = RegexTokenizer(GPT4_SPLIT_PATTERN).split(TRAIN_TEXT)
    fast = list(train_fast(chunks, 300))
    assert len(fast) == 300
    assert fast == list(train_reference(chunks, 300))


@pytest.mark.parametrize(
    "text",
    [
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b aaaa",  # overlapping runs of one byte
        "abababababab cdcdcdcd abcd",  # many pairs tied on count
        "xy yx xy yx zz zz zz zz",  # ties again, across chunks
        STDLIB_TEXT[:3000],
    ],
    ids=["runs", "ties", "ties2", "code"],
)
@pytest.mark.parametrize(
    "pattern", [GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, None], ids=["gpt2", "gpt4", "none"]
)
def test_trainers_agree_including_ties(text, pattern):
    tok = BasicTokenizer() if pattern is None else RegexTokenizer(pattern)
    chunks = tok.split(text)
    assert list(train_fast(chunks, 200)) == list(train_reference(chunks, 200))


def test_ties_go_to_the_smallest_pair():
    # "ab" and "cd" both occur twice; (97, 98) < (99, 100)
    first = next(train_fast([b"cdab", b"cdab"], 1))
    assert first.pair == (97, 98) and first.count == 2 and first.new_id == 256


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab c\n", max_size=30), max_size=12), st.integers(1, 40))
def test_trainers_agree_on_random_chunks(texts, num_merges):
    chunks = [t.encode() for t in texts]
    assert list(train_fast(chunks, num_merges)) == list(train_reference(chunks, num_merges))


def test_training_stops_when_pairs_run_out():
    tok = RegexTokenizer()
    merges = tok.train("ab ab", 1000)
    assert len(merges) < 10 and tok.vocab_size == 256 + len(merges)


@pytest.mark.parametrize("trainer", [train_fast, train_reference], ids=["fast", "reference"])
def test_train_then_encode_compresses(trainer):
    tok = RegexTokenizer()
    tok.train(TRAIN_TEXT, 256 + 64, trainer=trainer)
    ids = tok.encode(TRAIN_TEXT)
    assert len(ids) < len(TRAIN_TEXT.encode()) * 0.8
    assert tok.decode(ids) == TRAIN_TEXT


@pytest.fixture(scope="module")
def trained_basic():
    tok = BasicTokenizer()
    tok.train(TRAIN_TEXT, 256 + 80)
    return tok


@pytest.fixture(scope="module")
def trained_regex():
    tok = RegexTokenizer(GPT4_SPLIT_PATTERN)
    tok.train(TRAIN_TEXT, 256 + 80)
    tok.register_special_tokens({"<|endoftext|>": 336, "<|fim_prefix|>": 337})
    return tok


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_basic_round_trip(trained_basic, text):
    assert trained_basic.decode(trained_basic.encode(text)) == text


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_regex_round_trip(trained_regex, text):
    assert trained_regex.decode(trained_regex.encode(text, allowed_special="none")) == text


def test_long_text_encodes_like_short_pieces(trained_basic):
    # The Basic tokenizer merges long texts with a heap: same result as pair-by-pair.
    text = STDLIB_TEXT[:2000]
    slow = list(text.encode())
    while len(slow) >= 2:
        pair = min(zip(slow, slow[1:]), key=lambda p: trained_basic.merges.get(p, float("inf")))
        if pair not in trained_basic.merges:
            break
        slow = merge(slow, pair, trained_basic.merges[pair])
    assert trained_basic.encode(text) == slow


def test_special_tokens(trained_regex):
    text = "hello<|endoftext|>world <|fim_prefix|>"
    ids = trained_regex.encode(text, allowed_special="all")
    assert 336 in ids and 337 in ids
    assert trained_regex.decode(ids) == text
    only_eot = trained_regex.encode(text, allowed_special={"<|endoftext|>"})
    assert 336 in only_eot and 337 not in only_eot
    plain = trained_regex.encode(text, allowed_special="none")
    assert 336 not in plain and trained_regex.decode(plain) == text
    with pytest.raises(ValueError, match="special token"):
        trained_regex.encode(text)  # "none_raise" is the default


def test_decode_rejects_unknown_ids(trained_regex):
    with pytest.raises(ValueError, match="invalid token id 99999"):
        trained_regex.decode([65, 99999])


@pytest.mark.parametrize("which", ["basic", "regex"])
def test_save_load_round_trip(which, trained_basic, trained_regex, tmp_path):
    tok = trained_basic if which == "basic" else trained_regex
    tok.save(tmp_path / "tok")
    assert (tmp_path / "tok.vocab").exists()
    loaded = load_tokenizer(tmp_path / "tok.model")
    assert type(loaded) is type(tok)
    assert loaded.merges == tok.merges and loaded.vocab == tok.vocab
    assert loaded.pattern == tok.pattern and loaded.special_tokens == tok.special_tokens
    kwargs = {"allowed_special": "all"} if which == "regex" else {}
    assert loaded.encode(UNICODE_TEXT + "<|endoftext|>", **kwargs) == tok.encode(
        UNICODE_TEXT + "<|endoftext|>", **kwargs
    )


def test_model_file_is_minbpe_v1(tmp_path):
    tok = RegexTokenizer(r"\w+")
    tok.train("aaabdaaabac", 256 + 3)
    tok.register_special_tokens({"<|endoftext|>": 259})
    tok.save(tmp_path / "m")
    assert (tmp_path / "m.model").read_text(encoding="utf-8") == (
        "minbpe v1\n\\w+\n1\n<|endoftext|> 259\n97 97\n97 98\n256 257\n"
    )
    vocab_lines = (tmp_path / "m.vocab").read_text(encoding="utf-8").splitlines()
    assert "[a] 97" in vocab_lines and "[aa][ab] -> [aaab] 258" in vocab_lines


def test_loads_a_file_written_by_minbpe(tmp_path):
    # what minbpe's RegexTokenizer.save writes for GPT-4's pattern and two merges
    (tmp_path / "x.model").write_text(
        f"minbpe v1\n{GPT4_SPLIT_PATTERN}\n0\n104 105\n32 256\n", encoding="utf-8"
    )
    tok = load_tokenizer(tmp_path / "x.model")
    assert tok.pattern == GPT4_SPLIT_PATTERN
    assert tok.encode("hi hi!") == [256, 257, 33]


@pytest.mark.parametrize(
    "content",
    ["", "minbpe v2\n\n0\n", "minbpe v1\n\nx\n", "minbpe v1\n\n0\n1 2 3\n", "minbpe v1\n\n0\n300 1\n"],
)
def test_load_rejects_bad_files_with_one_line(content, tmp_path):
    path = tmp_path / "bad.model"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as e:
        RegexTokenizer().load(path)
    assert "\n" not in str(e.value) and "bad.model" in str(e.value)


def test_training_reports_each_merge_and_can_stop_between_two():
    """The one training loop: on_merge hears every merge with its token's bytes; a true
    answer stops there, leaving a complete tokenizer of the merges so far."""
    heard = []
    tok = RegexTokenizer()
    learned = tok.train(
        TRAIN_TEXT,
        256 + 50,
        trainer=train_reference,
        on_merge=lambda m, token: heard.append((m, token)) or len(heard) == 10,
    )
    assert len(learned) == 10 and [m for m, _ in heard] == learned
    assert all(token == tok.vocab[m.new_id] for m, token in heard)
    assert tok.vocab_size == 256 + 10
    full = RegexTokenizer()
    full.train(TRAIN_TEXT, 256 + 50)
    assert dict(list(full.merges.items())[:10]) == tok.merges  # the same first ten merges


@pytest.mark.parametrize("change", ["set_merges", "register_special_tokens", "load"])
def test_the_encode_cache_does_not_survive_new_tables(change, tmp_path):
    """The encoder remembers chunks it encoded; new merges (or tables) must not be answered
    from that memory."""
    tok = RegexTokenizer()
    tok.train(TRAIN_TEXT, 256 + 80)
    text = "the the the return return"
    trained_ids = tok.encode(text)
    assert len(trained_ids) < len(text.encode("utf-8"))  # merges used, chunks now remembered
    if change == "set_merges":
        tok.set_merges({})
    elif change == "register_special_tokens":
        tok.merges = {}  # tables replaced by hand, then a rebuild through the public call
        tok.register_special_tokens({"<|endoftext|>": 256})
    else:
        RegexTokenizer().save(tmp_path / "empty")
        tok.load(tmp_path / "empty.model")
    assert tok.encode(text) == list(text.encode("utf-8"))
