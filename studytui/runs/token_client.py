"""Talk to the tokenizer lab's encoder server (`python -m labs.tokenizer.viewer`).

studytui never imports a lab, yet the token viewer must cut text with gpt2, cl100k_base and
a tokenizer you trained. So the encoders live in a helper process speaking JSON lines:

    request:  {"text": "hello world", "tokenizers": ["gpt2", "cl100k_base", "/abs/run/tokenizer.model"]}
    answer:   {"results": [{"name": "gpt2", "ids": [31373, 995], "tokens": ["68656c6c6f", "20776f726c64"],
                            "error": null}, ...]}

`tokens` are each token's bytes in hex (a token may hold part of a UTF-8 character).
A tokenizer that can't be loaded answers with `error` (one line) and empty lists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from studytui.runs.manifest import get_manifest

VIEWER_MODULE = "labs.tokenizer.viewer"


class TokenizerServerError(RuntimeError):
    """The helper process could not start or answer; the message is one line."""


@dataclass
class Encoded:
    name: str
    ids: list[int]
    tokens: list[bytes]
    error: str | None = None


class TokenizerClient:
    """One helper process, started on first use, answering one request at a time."""

    def __init__(self, import_root: Path | None = None, module: str = VIEWER_MODULE):
        self.module = module
        self._import_root = import_root
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        root = self._import_root
        if root is None:
            try:
                root = get_manifest("tokenizer").import_root
            except ValueError as e:
                raise TokenizerServerError(str(e)) from None
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(root)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
        try:
            return subprocess.Popen(
                [sys.executable, "-m", self.module],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        except OSError as e:
            raise TokenizerServerError(f"could not start the tokenizer helper: {e}") from None

    def encode(self, text: str, tokenizers: list[str]) -> list[Encoded]:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            try:
                self._proc.stdin.write(json.dumps({"text": text, "tokenizers": tokenizers}) + "\n")
                self._proc.stdin.flush()
                line = self._proc.stdout.readline()
            except (BrokenPipeError, OSError):
                line = ""
            if not line:
                self.close()
                raise TokenizerServerError("the tokenizer helper exited (is the tokenizer lab installed?)")
        try:
            doc = json.loads(line)
            return [
                Encoded(
                    r["name"],
                    list(r.get("ids") or []),
                    [bytes.fromhex(h) for h in r.get("tokens") or []],
                    r.get("error"),
                )
                for r in doc["results"]
            ]
        except (ValueError, KeyError, TypeError) as e:
            raise TokenizerServerError(f"the tokenizer helper answered nonsense: {e}") from None

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.close()
                proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
