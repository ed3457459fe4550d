"""Byte-level BPE after a regex split, as in GPT-2 and GPT-4 (minbpe's RegexTokenizer).

    from labs.tokenizer import RegexTokenizer, GPT4_SPLIT_PATTERN
    tok = RegexTokenizer(GPT4_SPLIT_PATTERN)
    tok.train(text, vocab_size=1024)
    tok.register_special_tokens({"<|endoftext|>": 1024})
    ids = tok.encode("hello <|endoftext|>", allowed_special="all")
    tok.decode(ids)

The pattern first cuts text into chunks (words with their leading space, runs of
digits, punctuation, whitespace); merges never cross a chunk boundary, so "dog." and
"dog!" share the token " dog" instead of learning " dog." and " dog!".

`tiktoken_bridge.from_tiktoken(enc)` rebuilds the merges of a tiktoken encoding (gpt2,
cl100k_base) so this Python encoder gives tiktoken's ids; `tiktoken_bridge.to_tiktoken(tok)`
goes the other way, to encode fast.
"""

from __future__ import annotations

import regex

from labs.tokenizer.base import Tokenizer

# The split patterns, as in minbpe (GPT-2's from its encoder.py, GPT-4's from tiktoken).
GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
GPT4_SPLIT_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""

_CACHE_LIMIT = 200_000  # distinct chunks remembered by the encoder before it starts over


class RegexTokenizer(Tokenizer):
    def __init__(self, pattern: str | None = None):
        super().__init__()
        self.pattern = GPT4_SPLIT_PATTERN if pattern is None else pattern
        self._on_pattern_change()
        self._rebuild()

    def _on_pattern_change(self) -> None:
        self.compiled_pattern = regex.compile(self.pattern)
        self._cache: dict[bytes, list[int]] = {}

    def _rebuild(self) -> None:
        super()._rebuild()
        self.inverse_special_tokens = {v: k for k, v in self.special_tokens.items()}
        self._special_split = None
        if self.special_tokens:
            # longest first, so a special token that contains another one wins
            names = sorted(self.special_tokens, key=len, reverse=True)
            self._special_split = regex.compile("(" + "|".join(regex.escape(k) for k in names) + ")")
        self._identity_bytes = self.byte_ids == list(range(256))
        self._cache = {}

    def register_special_tokens(self, special_tokens: dict[str, int]) -> None:
        """e.g. {"<|endoftext|>": 100257}: never split, never merged, only encoded on request."""
        self.special_tokens = dict(special_tokens)
        self._rebuild()

    def clear_cache(self) -> None:
        """Forget the chunks encoded so far (the encoder remembers them, as GPT-2's did)."""
        self._cache = {}

    def split(self, text: str) -> list[bytes]:
        return [chunk.encode("utf-8") for chunk in self.compiled_pattern.findall(text)]

    # -- encoding ------------------------------------------------------------------------
    def encode_ordinary(self, text: str) -> list[int]:
        """Encode, treating special-token text like any other text."""
        out: list[int] = []
        shuffled = not self._identity_bytes
        for chunk in self.compiled_pattern.findall(text):
            b = chunk.encode("utf-8")
            ids = self._cache.get(b)
            if ids is None:
                ids = self._bpe([self.byte_ids[x] for x in b] if shuffled else list(b))
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[b] = ids
            out.extend(ids)
        return out

    def encode(self, text: str, allowed_special: str | set[str] = "none_raise") -> list[int]:
        """Encode, with special tokens handled as minbpe (and tiktoken) do.

        allowed_special: "all" (encode every registered special token as its id), "none"
        (encode them as plain text), "none_raise" (refuse text that contains one), or a
        set of the special tokens to honour.
        """
        if allowed_special == "all":
            special = self.special_tokens
        elif allowed_special in ("none", "none_raise"):
            special = {}
            if allowed_special == "none_raise":
                found = [k for k in self.special_tokens if k in text]
                if found:
                    raise ValueError(
                        f"text contains the special token {found[0]!r}; pass "
                        "allowed_special='all' or 'none' to encode it"
                    )
        elif isinstance(allowed_special, (set, frozenset)):
            special = {k: v for k, v in self.special_tokens.items() if k in allowed_special}
        else:
            raise ValueError(f"allowed_special={allowed_special!r} not understood")
        if not special:
            return self.encode_ordinary(text)
        if special is self.special_tokens:
            splitter = self._special_split
        else:
            names = sorted(special, key=len, reverse=True)
            splitter = regex.compile("(" + "|".join(regex.escape(k) for k in names) + ")")
        ids: list[int] = []
        for part in splitter.split(text):
            if part in special:
                ids.append(special[part])
            elif part:
                ids.extend(self.encode_ordinary(part))
        return ids
