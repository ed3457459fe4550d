"""Between our tokenizers and tiktoken's `Encoding`: recover merges, export ranks.

tiktoken stores no merge list, only `mergeable_ranks`: token bytes -> rank (= id), where
a lower rank was merged earlier. Its encoder merges, again and again, the adjacent pair
whose concatenation has the lowest rank. To drive our merge-based encoder we need the
pairs back. For a token T of rank r, run that same procedure on T's bytes but only with
ranks below r: it stops at exactly two parts, and those are the pair T was merged from
(minbpe's `recover_merges`, from its GPT4Tokenizer).

One more twist: tiktoken's single-byte tokens are not in byte order (GPT-2's encoder
put printable bytes first), so byte b is token `ranks[bytes([b])]`, not b. Our
tokenizer carries this as `byte_ids` and maps bytes through it before merging; the
vocab maps back. With both, `from_tiktoken(enc).encode(s)` equals
`enc.encode(s)` for gpt2 and cl100k_base alike.
"""

from __future__ import annotations

import tiktoken

from labs.tokenizer.base import Tokenizer
from labs.tokenizer.encodings import CL100K_PAT_STR, GPT2_PAT_STR
from labs.tokenizer.regex_tokenizer import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, RegexTokenizer

# What tiktoken splits a whole text by when a tokenizer has no pattern (BasicTokenizer).
WHOLE_TEXT_PATTERN = r"[\s\S]+"
# tiktoken's spellings of the GPT-2 and GPT-4 patterns split text the same way but run
# faster in its regex engine (possessive quantifiers, `\s++$`): export with those.
FASTER_EQUIVALENT = {GPT2_SPLIT_PATTERN: GPT2_PAT_STR, GPT4_SPLIT_PATTERN: CL100K_PAT_STR}


def mergeable_ranks(enc: tiktoken.Encoding) -> dict[bytes, int]:
    ranks = getattr(enc, "_mergeable_ranks", None)
    if ranks is None:  # not public API; rebuild it from what is
        special_ids = set(enc._special_tokens.values())
        ranks = {enc.decode_single_token_bytes(i): i for i in range(enc.n_vocab) if i not in special_ids}
    return ranks


def _split_in_two(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    """BPE on `token`'s bytes using only ranks below `max_rank` (tiktoken's algorithm)."""
    parts = [token[i : i + 1] for i in range(len(token))]
    while len(parts) > 2:
        best_i, best_rank = -1, max_rank
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < best_rank:
                best_i, best_rank = i, rank
        if best_i < 0:
            break
        parts[best_i : best_i + 2] = [parts[best_i] + parts[best_i + 1]]
    return parts


def recover_merges(ranks: dict[bytes, int]) -> dict[tuple[int, int], int]:
    """(id0, id1) -> id for every multi-byte token, in tiktoken's own ids."""
    merges = {}
    for token, rank in ranks.items():
        if len(token) == 1:
            continue
        parts = _split_in_two(ranks, token, rank)
        if len(parts) != 2:
            raise ValueError(f"token {token!r} (rank {rank}) is not a merge of two earlier tokens")
        merges[(ranks[parts[0]], ranks[parts[1]])] = rank
    return merges


def from_tiktoken(enc: tiktoken.Encoding) -> RegexTokenizer:
    ranks = mergeable_ranks(enc)
    tok = RegexTokenizer(enc._pat_str)
    tok.byte_ids = [ranks[bytes([b])] for b in range(256)]
    tok.special_tokens = dict(enc._special_tokens)
    tok.set_merges(recover_merges(ranks))
    return tok


def to_tiktoken(tok: Tokenizer, name: str = "trained") -> tiktoken.Encoding:
    """A tiktoken Encoding with `tok`'s ids, split pattern and special tokens."""
    special_ids = set(tok.special_tokens.values())
    ranks: dict[bytes, int] = {}
    for idx, token in tok.vocab.items():
        if idx in special_ids:
            continue
        if token in ranks:
            # BPE can build the same bytes twice along two routes (ab+c, a+bc); tiktoken
            # keys tokens by their bytes, so it cannot hold both.
            raise ValueError(
                f"tokens {ranks[token]} and {idx} are the same bytes {token!r}; "
                "tiktoken cannot hold this vocabulary"
            )
        ranks[token] = idx
    pat_str = FASTER_EQUIVALENT.get(tok.pattern, tok.pattern) or WHOLE_TEXT_PATTERN
    return tiktoken.Encoding(
        name=name, pat_str=pat_str, mergeable_ranks=ranks, special_tokens=dict(tok.special_tokens)
    )
