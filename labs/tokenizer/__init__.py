"""The tokenizer lab: byte-pair encoding from scratch, held against GPT-2 and GPT-4.

    from labs.tokenizer import RegexTokenizer, GPT4_SPLIT_PATTERN, get_encoding
    tok = RegexTokenizer(GPT4_SPLIT_PATTERN)
    tok.train(open("input.txt").read(), vocab_size=1024)   # trainer=train_fast | train_reference
    tok.encode("hello world"); tok.save("mytok")            # mytok.model, mytok.vocab

    gpt4 = from_tiktoken(get_encoding("cl100k_base"))   # tiktoken's ids, in Python
    fast = to_tiktoken(tok)                             # our vocab, tiktoken's speed

Files, one idea each (after Karpathy's minbpe), each importing only those above it:
    pairs.py            pair counting, merging, the Merge record a trainer yields
    train_reference.py  the lecture's training loop: recount all pairs every merge
    train_fast.py       the same merges, updating counts only around each merge
    trainers.py         the two trainers by name, for settings
    base.py             Tokenizer: its tables, the one training loop, the minbpe files
    basic.py            BasicTokenizer: BPE over the raw bytes of the whole text
    regex_tokenizer.py  RegexTokenizer: regex split first (GPT-2/GPT-4 patterns), special tokens
    encodings.py        gpt2 and cl100k_base built offline from files installed with pip
    tiktoken_bridge.py  recover merges from tiktoken ranks; export to a tiktoken Encoding
    corpus.py           the lab's text: a sample of Python's standard library, or your files
    run.py              the lab: `python -m labs.tokenizer.run --out runs --set vocab_size=2048`
"""

from labs.tokenizer.base import Tokenizer, render_token
from labs.tokenizer.basic import BasicTokenizer
from labs.tokenizer.encodings import get_encoding
from labs.tokenizer.pairs import Merge, Trainer, get_stats, merge
from labs.tokenizer.regex_tokenizer import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, RegexTokenizer
from labs.tokenizer.tiktoken_bridge import from_tiktoken, to_tiktoken
from labs.tokenizer.train_fast import train_fast
from labs.tokenizer.train_reference import train_reference
from labs.tokenizer.trainers import TRAINERS, get_trainer


def load_tokenizer(model_file) -> Tokenizer:
    """A `.model` file -> a RegexTokenizer (or a BasicTokenizer if it has no pattern)."""
    tok = RegexTokenizer()
    tok.load(model_file)
    if not tok.pattern:
        return BasicTokenizer().load(model_file)
    return tok


__all__ = [
    "BasicTokenizer",
    "RegexTokenizer",
    "Tokenizer",
    "Merge",
    "Trainer",
    "TRAINERS",
    "GPT2_SPLIT_PATTERN",
    "GPT4_SPLIT_PATTERN",
    "from_tiktoken",
    "get_encoding",
    "get_trainer",
    "load_tokenizer",
    "to_tiktoken",
    "train_fast",
    "train_reference",
    "get_stats",
    "merge",
    "render_token",
]
