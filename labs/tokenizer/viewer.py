"""A tiny encoder server for the study desk's token viewer: JSON lines in, JSON lines out.

    python -m labs.tokenizer.viewer
    {"text": "hello world", "tokenizers": ["gpt2", "cl100k_base", "runs/<id>/tokenizer.model"]}
    -> {"results": [{"name": "gpt2", "ids": [31373, 995], "tokens": ["68656c6c6f", "20776f726c64"], "error": null}, ...]}

The app never imports torch or the labs, so it keeps this process running beside it and
asks it to cut text. `tokens` are each token's bytes in hex: one token may hold only part
of a UTF-8 character, which JSON strings cannot carry. A name that isn't `gpt2` or
`cl100k_base` is a path to a trained `.model` file. Special-token text (`<|endoftext|>`)
is encoded as ordinary text. Uses only the package's public API.
"""

from __future__ import annotations

import json
import os
import sys

from labs.tokenizer import get_encoding, load_tokenizer
from labs.tokenizer.encodings import ENCODINGS

_cache: dict[str, tuple[float, object]] = {}  # name -> (file mtime, encoder)


def _encoder(name: str):
    if name in ENCODINGS:
        if name not in _cache:
            _cache[name] = (0.0, get_encoding(name))
        return _cache[name][1]
    mtime = os.path.getmtime(name)  # a retrained run rewrites its .model: load it again
    if name not in _cache or _cache[name][0] != mtime:
        _cache[name] = (mtime, load_tokenizer(name))
    return _cache[name][1]


def encode(name: str, text: str) -> dict:
    try:
        enc = _encoder(name)
        if hasattr(enc, "decode_single_token_bytes"):  # a tiktoken Encoding
            ids = enc.encode_ordinary(text)
            pieces = [enc.decode_single_token_bytes(i) for i in ids]
        else:  # one of our trained tokenizers
            ids = getattr(enc, "encode_ordinary", enc.encode)(text)
            pieces = [enc.decode_bytes([i]) for i in ids]
    except Exception as e:  # noqa: BLE001 - any failure is this tokenizer's answer, not the server's end
        message = f"{type(e).__name__}: {e}".splitlines()[0]
        return {"name": name, "ids": [], "tokens": [], "error": message}
    return {"name": name, "ids": ids, "tokens": [p.hex() for p in pieces], "error": None}


def main() -> int:
    for line in sys.stdin:
        try:
            request = json.loads(line)
            text = str(request["text"])
            names = [str(n) for n in request["tokenizers"]]
        except (ValueError, KeyError, TypeError) as e:
            print(json.dumps({"results": [], "error": f"bad request: {e}"}), flush=True)
            continue
        print(json.dumps({"results": [encode(n, text) for n in names]}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
