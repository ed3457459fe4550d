"""The GPT lab's tokens: text through a tokenizer, cached on disk, served as random batches.

    codec = load_codec("gpt2")                       # or "char", "run:<run-id>", "path/x.model"
    data = load_data(codec, data=None, max_bytes=1_000_000, val_fraction=0.1)
    batches = Batches(data, batch_size=12, block_size=64, seed=1337)
    x, y = batches.train_micro_batches(grad_accum=4)[0]    # (B, T) inputs, (B, T) targets

Where tokens come from:
- `data=shakespeare`: a data set shipped with the labs (labs/data, checked by sha256):
  Tiny Shakespeare, the corpus of "Let's build GPT" and of nanoGPT's shakespeare_char;
- default (data unset): a sample of Python's standard library source (its files in a fixed
  shuffled order, read until `max_bytes`), real text on every machine that runs the lab;
- `data=` a text file or a folder of text files, read the same way;
- `data=` a `.bin` file or a folder of them: tokens already made, as in nanoGPT
  (raw uint16) or llm.c (a 256-int32 header with magic 20240520, then uint16 tokens).
  Shards with "val" in their name are the validation split.

Text is tokenized once and cached as a flat array under `$STUDYTUI_HOME/cache/tokens/`,
named by a hash of the tokenizer and of every input file's path, size and mtime, so a
second run on the same data starts at once. The last `val_fraction` of the tokens is the
validation split (nanoGPT's convention).

Batches are random windows of `block_size + 1` tokens (nanoGPT's get_batch). Their
offsets come from a seeded torch.Generator whose state is saved with each checkpoint:
that state *is* the data position, so a resumed run sees exactly the batches an
unbroken run would have seen.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from labs import data as datasets
from labs import protocol
from labs.common.corpus import iter_texts, no_text_error, text_files
from labs.common.runctx import SettingError

LLMC_MAGIC = 20240520  # llm.c's .bin header: int32[256], [0]=magic, [1]=version, [2]=n tokens
LLMC_HEADER_INTS = 256
CACHE_VERSION = 2
CORPUS_ORDER_SEED = 0  # a fixed file order, so every run on the same data shares one cache


class DataError(SettingError):
    """Data or tokenizer that cannot be used; the message is one line."""


def studytui_home() -> Path:
    """$STUDYTUI_HOME, else the platform's user data folder (as studytui.paths does)."""
    return protocol.home_dir()


# -- tokenizers ---------------------------------------------------------------------------


class Codec:
    """A tokenizer reduced to what training needs: encode, decode, a vocabulary size,
    an id for cache keys and a state to store in checkpoints."""

    name: str
    vocab_size: int
    eot: int | None = None  # the document separator token, if the tokenizer has one

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: list[int]) -> str:
        raise NotImplementedError

    def state(self) -> dict:
        raise NotImplementedError


class TiktokenCodec(Codec):
    def __init__(self, enc, name: str, state: dict):
        self.enc, self.name, self._state = enc, name, state
        self.vocab_size = enc.n_vocab
        eot = "<|endoftext|>"  # our own trained tokenizers may have none
        self.eot = enc.encode_single_token(eot) if eot in enc.special_tokens_set else None

    def encode(self, text: str) -> list[int]:
        return self.enc.encode_ordinary(text)

    def decode(self, ids: list[int]) -> str:
        return self.enc.decode([i for i in ids if i < self.vocab_size])

    def state(self) -> dict:
        return self._state


class CharCodec(Codec):
    """nanoGPT's shakespeare_char: every distinct character of the data is a token."""

    def __init__(self, chars: str):
        self.chars = chars
        self.stoi = {ch: i for i, ch in enumerate(chars)}
        self.vocab_size = len(chars)
        self.name = "char:" + hashlib.sha256(chars.encode("utf-8")).hexdigest()[:16]

    def encode(self, text: str) -> list[int]:
        unknown = next((ch for ch in text if ch not in self.stoi), None)
        if unknown is not None:
            raise DataError(f"character {unknown!r} is not in this char tokenizer's vocabulary")
        return [self.stoi[ch] for ch in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i] for i in ids if i < self.vocab_size)

    def state(self) -> dict:
        return {"kind": "char", "chars": self.chars}


class MinbpeCodec(Codec):
    """A tokenizer trained in the tokenizer lab (minbpe's .model format)."""

    def __init__(self, model_text: str, label: str):
        import tempfile

        from labs.tokenizer import load_tokenizer, to_tiktoken

        # load_tokenizer reads a file; the text may come from a checkpoint, so go through one
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp, "tokenizer.model")
            path.write_text(model_text, encoding="utf-8")
            self.tok = load_tokenizer(path)
        self.model_text = model_text
        self.vocab_size = max(self.tok.vocab) + 1
        self.eot = self.tok.special_tokens.get("<|endoftext|>")
        self.name = "minbpe:" + hashlib.sha256(model_text.encode("utf-8")).hexdigest()[:16]
        self.label = label
        try:
            self.fast = to_tiktoken(self.tok)  # the same ids at tiktoken's speed
        except (ValueError, AttributeError):
            self.fast = None  # a vocabulary tiktoken cannot hold: the Python encoder it is

    def encode(self, text: str) -> list[int]:
        if self.fast is not None:
            return self.fast.encode_ordinary(text)
        return (
            self.tok.encode_ordinary(text) if hasattr(self.tok, "encode_ordinary") else self.tok.encode(text)
        )

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode([i for i in ids if i in self.tok.vocab])

    def state(self) -> dict:
        return {"kind": "minbpe", "model": self.model_text, "label": self.label}


def tokenizer_model_path(spec: str) -> Path:
    """`run:<id>` or a path (a .model file or a folder holding tokenizer.model)."""
    if spec.startswith("run:"):
        run_id = spec[4:]
        path = studytui_home() / "runs" / run_id / "tokenizer.model"
        if not path.is_file():
            raise DataError(
                f"tokenizer: run {run_id} has no tokenizer.model under {studytui_home() / 'runs'}"
            )
        return path
    path = Path(spec).expanduser()
    if path.is_dir():
        path = path / "tokenizer.model"
    if not path.is_file():
        raise DataError(f"tokenizer: {spec!r} is not gpt2, char, run:<run-id> or a .model file")
    return path


def load_codec(spec: str, chars: str | None = None) -> Codec:
    """A tokenizer from a setting. `char` needs the data's characters (see load_data)."""
    if spec == "gpt2":
        from labs.tokenizer import get_encoding

        try:
            return TiktokenCodec(get_encoding("gpt2"), "gpt2", {"kind": "gpt2"})
        except Exception as e:  # a broken install: say so in one line  # noqa: BLE001
            raise DataError(f"tokenizer gpt2 is unavailable: {e}") from None
    if spec == "char":
        if chars is None:
            raise DataError("tokenizer char: its vocabulary comes from the data")
        return CharCodec(chars)
    path = tokenizer_model_path(spec)
    try:
        return MinbpeCodec(path.read_text(encoding="utf-8"), str(path))
    except (OSError, ValueError, AssertionError, IndexError) as e:
        raise DataError(f"tokenizer: cannot read {path}: {e}") from None


def codec_from_state(state: dict) -> Codec:
    """The tokenizer a checkpoint was trained with."""
    kind = state.get("kind")
    if kind == "gpt2":
        return load_codec("gpt2")
    if kind == "char":
        return CharCodec(state["chars"])
    if kind == "minbpe":
        return MinbpeCodec(state["model"], state.get("label", "checkpoint"))
    raise DataError(f"checkpoint: unknown tokenizer kind {kind!r}")


# -- the token cache ----------------------------------------------------------------------


@dataclass
class TokenData:
    train: np.ndarray  # 1-D token ids (np.memmap)
    val: np.ndarray
    codec: Codec
    source: str  # where the tokens came from, for people
    cache_path: str | None  # the cached .bin, if text was tokenized


def _token_dtype(vocab_size: int):
    return np.uint16 if vocab_size <= 65536 else np.uint32


def _cache_key(tokenizer_id: str, files: list[Path], max_bytes: int) -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION}|{tokenizer_id}|{max_bytes}".encode())
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        h.update(f"|{f.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:24]


def _tokenize_to_cache(codec: Codec, files: list[Path], max_bytes: int, out: Path) -> int:
    """Write the token ids of every document (separated by the EOT token) to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    dtype = _token_dtype(codec.vocab_size)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    n = 0
    with open(tmp, "wb") as f:
        for text in iter_texts(files, max_bytes):
            ids = ([codec.eot] if codec.eot is not None else []) + codec.encode(text)
            f.write(np.asarray(ids, dtype=dtype).tobytes())
            n += len(ids)
        f.flush()
        os.fsync(f.fileno())
    if n == 0:
        tmp.unlink()  # nothing readable: no cache entry, or the next run would find an empty one
        return 0
    os.replace(tmp, out)  # a run killed mid-tokenize leaves no half cache behind
    return n


def _chars_of(files: list[Path], max_bytes: int) -> str:
    return "".join(sorted(set("".join(iter_texts(files, max_bytes)))))


def _split(tokens: np.ndarray, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    n_val = int(len(tokens) * val_fraction)
    return tokens[: len(tokens) - n_val], tokens[len(tokens) - n_val :]


def load_data(
    tokenizer: str,
    data: str | None = None,
    max_bytes: int = 1_000_000,
    val_fraction: float = 0.1,
    codec: Codec | None = None,
) -> TokenData:
    """Tokens for training and validation. `codec` (from a checkpoint) wins over `tokenizer`."""
    if datasets.is_name(data):
        return _load_text(
            [datasets.path(data)],
            f"{data} ({datasets.DATA_SETS[data].filename}, shipped)",
            tokenizer,
            max_bytes,
            val_fraction,
            codec,
        )
    if data is not None and _is_bin_data(Path(data).expanduser()):
        codec = codec or load_codec(tokenizer)
        train, val, source = load_bin_shards(Path(data).expanduser(), val_fraction)
        _check_ids(train[:10_000_000], codec.vocab_size, source)
        return TokenData(train, val, codec, source, None)
    files, source = text_files(data, CORPUS_ORDER_SEED)
    return _load_text(files, source, tokenizer, max_bytes, val_fraction, codec)


def _load_text(
    files: list[Path], source: str, tokenizer: str, max_bytes: int, val_fraction: float, codec: Codec | None
) -> TokenData:
    if codec is None:
        chars = _chars_of(files, max_bytes) if tokenizer == "char" else None
        codec = load_codec(tokenizer, chars)
    cache = studytui_home() / "cache" / "tokens" / f"{_cache_key(codec.name, files, max_bytes)}.bin"
    if not cache.exists():
        if _tokenize_to_cache(codec, files, max_bytes, cache) == 0:
            raise no_text_error(files, source)
    tokens = np.memmap(cache, dtype=_token_dtype(codec.vocab_size), mode="r")
    train, val = _split(tokens, val_fraction)
    return TokenData(train, val, codec, source, str(cache))


# -- pre-tokenized shards -----------------------------------------------------------------


def _is_bin_data(path: Path) -> bool:
    if path.is_file():
        return path.suffix == ".bin"
    return path.is_dir() and any(path.glob("*.bin"))


def read_bin(path: Path) -> np.ndarray:
    """A shard's uint16 tokens: llm.c's (header magic 20240520) or nanoGPT's (raw)."""
    size = path.stat().st_size
    header_bytes = LLMC_HEADER_INTS * 4
    if size >= header_bytes:
        header = np.fromfile(path, dtype=np.int32, count=LLMC_HEADER_INTS)
        if header[0] == LLMC_MAGIC:
            if header[1] != 1:
                raise DataError(f"data: {path} is llm.c version {header[1]}; only version 1 (uint16) is read")
            n = int(header[2])
            if header_bytes + 2 * n > size:
                raise DataError(f"data: {path} says {n} tokens but is only {size} bytes")
            return np.memmap(path, dtype=np.uint16, mode="r", offset=header_bytes, shape=(n,))
    if size % 2:
        raise DataError(f"data: {path} has an odd size: not a uint16 token file")
    return np.memmap(path, dtype=np.uint16, mode="r")


def load_bin_shards(path: Path, val_fraction: float) -> tuple[np.ndarray, np.ndarray, str]:
    """One .bin (split by val_fraction) or a folder of them ("val" in a name marks validation)."""
    if path.is_file():
        train, val = _split(read_bin(path), val_fraction)
        return train, val, str(path)
    shards = sorted(path.glob("*.bin"))
    val_shards = [p for p in shards if "val" in p.name]
    train_shards = [p for p in shards if p not in val_shards]
    if not train_shards:
        raise DataError(f"data: {path} holds only validation shards")
    train = _concat([read_bin(p) for p in train_shards])
    if val_shards:
        val = _concat([read_bin(p) for p in val_shards])
    else:
        train, val = _split(train, val_fraction)
    return train, val, f"{path} ({len(shards)} shards)"


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    # one shard stays a memmap; several are joined in memory (fine up to a few GB of tokens)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _check_ids(sample: np.ndarray, vocab_size: int, source: str) -> None:
    if len(sample) and int(sample.max()) >= vocab_size:
        raise DataError(
            f"data: {source} holds token id {int(sample.max())}, beyond the tokenizer's {vocab_size} ids"
        )


# -- batches ------------------------------------------------------------------------------


class Batches:
    """Random (B, T) windows. One generator for training, whose state is the data position;
    validation windows are the same every eval (a fresh generator), so evals compare."""

    def __init__(self, data: TokenData, batch_size: int, block_size: int, seed: int, device: str = "cpu"):
        self.data, self.B, self.T, self.seed = data, batch_size, block_size, seed
        self.device = device
        for split, tokens in (("train", data.train), ("val", data.val)):
            if len(tokens) < block_size + 2:
                raise DataError(
                    f"data: the {split} split has {len(tokens)} tokens, fewer than "
                    f"block_size + 2 = {block_size + 2}; give more data (max_bytes) "
                    "or a smaller block_size"
                )
        self.gen = torch.Generator().manual_seed(seed)

    def _windows(self, tokens: np.ndarray, offsets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        T = self.T
        rows = np.stack([np.asarray(tokens[i : i + T + 1], dtype=np.int64) for i in offsets.tolist()])
        xy = torch.from_numpy(rows)
        x, y = xy[:, :-1].contiguous(), xy[:, 1:].contiguous()  # targets: inputs shifted left by one
        if self.device.startswith("cuda"):
            return (
                x.pin_memory().to(self.device, non_blocking=True),
                y.pin_memory().to(self.device, non_blocking=True),
            )
        return x.to(self.device), y.to(self.device)

    def train_micro_batches(self, grad_accum: int, rank: int = 0, world_size: int = 1):
        """This rank's micro-batches for one optimizer step. Every rank draws the offsets of
        the whole global batch (so the generators stay in step) and takes its own slice:
        N processes see the same windows as one process accumulating N times as long."""
        n = len(self.data.train) - self.T - 1
        offsets = torch.randint(n, (grad_accum * world_size, self.B), generator=self.gen)
        mine = offsets[rank * grad_accum : (rank + 1) * grad_accum]
        return [self._windows(self.data.train, o) for o in mine]

    def eval_batches(self, split: str, iters: int):
        tokens = self.data.train if split == "train" else self.data.val
        gen = torch.Generator().manual_seed(self.seed + 1)
        offsets = torch.randint(len(tokens) - self.T - 1, (iters, self.B), generator=gen)
        for o in offsets:
            yield self._windows(tokens, o)

    def state(self) -> torch.Tensor:
        return self.gen.get_state()

    def load_state(self, state: torch.Tensor) -> None:
        self.gen.set_state(state)
