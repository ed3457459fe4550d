"""The simplest byte-level BPE tokenizer: the whole text is one sequence of bytes.

    from labs.tokenizer import BasicTokenizer
    tok = BasicTokenizer()
    tok.train("aaabdaaabac", 256 + 3)
    tok.encode("aaabdaaabac")      # [258, 100, 258, 97, 99]
    tok.save("basic")              # basic.model, basic.vocab

No regex split, so merges may cross word boundaries ("e t" in "the table"); compare
`RegexTokenizer`, the kind GPT-2 and GPT-4 use.
"""

from __future__ import annotations

from labs.tokenizer.base import Tokenizer


class BasicTokenizer(Tokenizer):
    def split(self, text: str) -> list[bytes]:
        return [text.encode("utf-8")]

    def encode(self, text: str) -> list[int]:
        return self._bpe(list(text.encode("utf-8")))
