"""Which characters does our encoder split differently from tiktoken? (Minutes; not a test.)

Both split text with the same GPT-2 / GPT-4 patterns, but with different regex engines:
ours with the `regex` package, tiktoken with Rust's. Each engine carries its own Unicode
tables, so a character assigned in a Unicode version one knows and the other does not
(a letter to one, an unassigned code point to the other) can split differently. This
probes every code point, in a text that puts it beside letters, digits, punctuation and
white space, and counts the ones whose ids differ, split by whether this Python's
`unicodedata` knows the character.

    .venv/bin/python scripts/unicode_parity.py
"""

from __future__ import annotations

import time
import unicodedata

import regex

from labs.tokenizer import encodings, from_tiktoken


def main() -> None:
    started = time.perf_counter()
    pairs = [(from_tiktoken(enc), enc) for enc in map(encodings.get_encoding, ("gpt2", "cl100k_base"))]
    known, unknown = [], []  # code points that split differently
    for cp in range(0x110000):
        c = chr(cp)
        category = unicodedata.category(c)
        if category == "Cs":  # a lone surrogate is not text either side can encode
            continue
        text = f"x{c}:A{c}1 {c}\n"
        if any(ours.encode_ordinary(text) != theirs.encode_ordinary(text) for ours, theirs in pairs):
            (unknown if category == "Cn" else known).append(cp)
    print(f"unicodedata {unicodedata.unidata_version}, regex {regex.__version__}")
    print(f"assigned here, split differently: {len(known)} {[hex(cp) for cp in known[:20]]}")
    print(f"unassigned here, split differently: {len(unknown)}")
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
