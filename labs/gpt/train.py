"""Training GPT: the loop of nanoGPT's train.py / build-nanogpt, as a class a lab can drive.

    trainer = Trainer(cfg, ctx, given_settings)    # ctx: labs.common.runctx.RunContext
    trainer.setup()                                # device, data, model, optimizer, resume
    trainer.train()                                # emits step/eval/sample/checkpoint/end

One optimizer step:
1. `gradient_accumulation_steps` micro-batches of (batch_size, block_size) tokens, each
   loss divided by that count so the summed gradient is the mean over total_batch_size
   tokens (under DDP each of N processes does 1/N of them; gradients are averaged, and
   one all-reduce a step carries the loss and the stop and divergence flags, so that every
   process stops at the same step). The gpt2 presets on a GPU fit batch_size to its free
   memory unless it is given (memory.py); gradient accumulation makes up the rest.
2. Clip the gradient's global norm to `grad_clip`.
3. Learning rate: linear warm-up for `warmup_iters`, then cosine decay to `min_lr` at
   `lr_decay_iters` (GPT-3 paper, appendix B), then flat.
4. AdamW: matrices decayed by `weight_decay`, biases and LayerNorms not.

A checkpoint (`ckpt.pt`, written to a temp file then renamed) holds the model, the
optimizer, the config, the step, and every random state: the data position, the global
torch RNG (dropout) and the sampler's. Resuming from it gives the same losses as a run
that never stopped (exactly on CPU). It holds only tensors and plain data (dicts, lists,
strings, numbers; random states as uint8 tensors), so it loads with
`torch.load(weights_only=True)`: a checkpoint file can never run code.
"""

from __future__ import annotations

import math
import os
import pickle
import sys
import time
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, fields
from pathlib import Path

import torch

from labs.common.guard import DivergenceGuard
from labs.common.runctx import RunContext, SettingError
from labs.gpt import device as dev
from labs.gpt.cadence import Cadence, Eta
from labs.gpt.config import RESUME_OVERRIDES, TrainConfig, check_shape, finish_config, padded
from labs.gpt.data import Batches, DataError, codec_from_state, load_codec, load_data, studytui_home
from labs.gpt.memory import fit_batch_to_memory
from labs.gpt.mfu import flops_per_token, mfu, peak_flops
from labs.gpt.model import GPT, GPTConfig, fused_adamw_available

CHECKPOINT = "ckpt.pt"
# Steps after a (re)start under torch.compile that include compiling: marked `warmup`, no MFU.
COMPILE_WARMUP_STEPS = 1
# A step that reads more than this share of the training tokens: the run is many epochs
# of a small corpus (a gpt2-shaped step over the default corpus is ~0.6 of an epoch).
EPOCH_SHARE_WARNING = 0.05
# The divergence guard: `factor` times its best for `window` steps in a row (or NaN/inf at once).
GUARD_WINDOW, GUARD_FACTOR = 100, 2.0


def get_lr(it: int, cfg: TrainConfig) -> float:
    """Learning rate for iteration `it` (0-based): warm-up, cosine decay, then min_lr."""
    if it < cfg.warmup_iters:
        return cfg.learning_rate * (it + 1) / cfg.warmup_iters
    if it > cfg.lr_decay_iters:
        return cfg.min_lr
    span = max(cfg.lr_decay_iters - cfg.warmup_iters, 1)
    ratio = (it - cfg.warmup_iters) / span
    coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))  # 1 -> 0
    return cfg.min_lr + coeff * (cfg.learning_rate - cfg.min_lr)


def find_checkpoint(ref: str) -> Path:
    """A run id (under $STUDYTUI_HOME/runs), a run folder, or a checkpoint file."""
    path = Path(ref).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        candidate = path / CHECKPOINT
    else:
        candidate = studytui_home() / "runs" / ref / CHECKPOINT
    if not candidate.is_file():
        raise SettingError(f"no checkpoint for {ref!r} (looked for {candidate})")
    return candidate


# What a checkpoint must hold, and of which plain type: anything else is not one of ours.
CHECKPOINT_FIELDS = {"model": dict, "model_config": dict, "config": dict, "tokenizer": dict}


def load_checkpoint(path: Path) -> dict:
    """A checkpoint's contents: tensors, and plain data (dicts, lists, str, numbers) around them.

    weights_only=True: torch's restricted unpickler builds tensors and plain containers and
    refuses everything else, so a planted file cannot run code here. That is why every
    non-tensor a checkpoint keeps (config, step, tokenizer) is plain data and every random
    state (data position, dropout, sampler) a uint8 tensor.
    """
    try:
        with warnings.catch_warnings():  # e.g. "pickle protocol 4" for a foreign file: the error says enough
            warnings.simplefilter("ignore")
            # mmap: tensors are read from the file as they are copied into the model, so
            # resuming a large model does not hold a second full copy in memory
            ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError:
        raise SettingError(
            f"{path} is not a checkpoint of the GPT lab: it holds Python objects, which are never loaded"
        ) from None
    except Exception as e:  # torch raises many kinds for a damaged or foreign file  # noqa: BLE001
        raise SettingError(
            f"cannot read checkpoint {path}: {type(e).__name__}: {e}".splitlines()[0]
        ) from None
    if not isinstance(ckpt, dict) or not all(
        isinstance(ckpt.get(k), t) for k, t in CHECKPOINT_FIELDS.items()
    ):
        raise SettingError(f"{path} is not a checkpoint of the GPT lab (for GPT-2 weights use init_from)")
    return ckpt


@contextmanager
def damaged_checkpoint_means(path: str):
    """A checkpoint with our keys but contents that do not fit (edited, truncated state, another
    version): one line naming it, not a traceback from deep inside load_state_dict."""
    try:
        yield
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        if isinstance(e, (SettingError, torch.OutOfMemoryError)) or "can't allocate memory" in str(e):
            raise  # a refusal already worded, or memory: out_of_memory_means words that one
        raise SettingError(
            f"checkpoint {path} is damaged or from another version: {type(e).__name__}: {e}".splitlines()[0]
        ) from None


def config_for_resume(ckpt_cfg: dict, cfg: TrainConfig, given: dict) -> TrainConfig:
    """The checkpoint's config, with what a resumed run may change from `given` settings."""
    known = {f.name for f in fields(TrainConfig)}
    resumed = TrainConfig(**{k: v for k, v in ckpt_cfg.items() if k in known})
    for key, value in given.items():  # settings the lab's manifest names: TrainConfig's fields
        if value is None:
            continue
        new = getattr(cfg, key)
        if key in RESUME_OVERRIDES:
            setattr(resumed, key, new)
        elif new != getattr(resumed, key):
            raise SettingError(
                f"resume: {key} comes from the checkpoint ({getattr(resumed, key)!r}); leave it unset"
            )
    return resumed


@contextmanager
def out_of_memory_means(message: str):
    """Turn a failed allocation (torch's OutOfMemoryError on a GPU, a RuntimeError on the
    CPU) into a one-line SettingError: sizes are settings the user can change."""
    try:
        yield
    except (RuntimeError, MemoryError) as e:
        if isinstance(e, (MemoryError, torch.OutOfMemoryError)) or "can't allocate memory" in str(e):
            raise SettingError(message) from None
        raise


class Trainer:
    def __init__(
        self,
        cfg: TrainConfig,
        ctx: RunContext,
        given: dict | None = None,
        *,
        rank: int = 0,
        local_rank: int = 0,
        world_size: int = 1,
    ):
        self.cfg, self.ctx, self.given = cfg, ctx, dict(given or {})
        self.rank, self.local_rank, self.world_size = rank, local_rank, world_size
        self.ddp = world_size > 1
        self.master = rank == 0
        self.step = 0
        self.ckpt: dict | None = None
        self.ckpt_path: Path | None = None
        self.best_val_loss: float | None = None
        self.last_loss: float | None = None
        self.resumed_step = 0  # the checkpoint's step (0: none)
        self.last_checkpoint_step: int | None = None  # the last checkpoint this run wrote
        self.divergence: str | None = None  # the guard's verdict (rank 0 alone judges)
        # DDP: what every process learned in the last step's all-reduce (see _all_reduce_step)
        self.stop_agreed = self.divergence_agreed = False
        self.notes: list[str] = []  # log lines for after the start event

    # -- setup --------------------------------------------------------------------------
    def setup(self) -> None:
        """Everything before the first step, in the order each part needs the last."""
        check_shape(self.cfg)
        self._load_source_checkpoint()
        self._pick_device()
        self._check_device_settings()
        self._seed()
        self._load_tokens()
        self._finish_config()
        with out_of_memory_means(
            f"the model (n_layer={self.cfg.n_layer}, n_embd={self.cfg.n_embd}, "
            f"vocab_size={self.cfg.vocab_size}) does not fit in {self.device}'s memory"
        ):
            self.model = self._build_model()
        self.raw_model = self.model
        self._make_samplers()
        self._seed_dropout_per_rank()
        self._build_optimizer()
        self._wrap_model()
        self._measure_setup()
        if self.ckpt:
            # restored: drop the checkpoint's tensors (a second copy of model and optimizer)
            self.resumed_step = self.ckpt.get("step", 0)
            self.ckpt = None

    def _load_source_checkpoint(self) -> None:
        """resume=/checkpoint=: the checkpoint, and the config it dictates."""
        source = self.cfg.resume or self.cfg.checkpoint
        if source:
            self.ckpt_path = find_checkpoint(source)
            self.ckpt = load_checkpoint(self.ckpt_path)
            with damaged_checkpoint_means(str(self.ckpt_path)):
                self.cfg = config_for_resume(self.ckpt["config"], self.cfg, self.given)

    def _pick_device(self) -> None:
        self.device = dev.pick_device(self.cfg.device)
        if self.ddp and dev.device_type(self.device) == "cuda":
            gpus, wanted = torch.cuda.device_count(), int(os.environ.get("LOCAL_WORLD_SIZE", self.world_size))
            if gpus < wanted:
                raise SettingError(f"nproc={wanted}: this machine has {gpus} GPU(s); one process per GPU")
            self.device = f"cuda:{self.local_rank}"
        dev.use_device(self.device)  # cuda:N: RNG calls and synchronize act on it, not cuda:0
        self.device_type = dev.device_type(self.device)

    def _check_device_settings(self) -> None:
        """dtype, fused AdamW and compile are refused now if this device or torch lacks them."""
        cfg = self.cfg
        cfg.dtype = dev.resolve_dtype(self.device, cfg.dtype)
        dev.check_precision(self.device, cfg.dtype)
        if cfg.fused_adamw and not fused_adamw_available(self.device_type):
            raise SettingError(f"fused_adamw: this torch has no fused AdamW for {self.device_type}")
        if cfg.compile:
            missing = dev.compile_missing(self.device)
            if missing and "compile" in self.given:
                raise SettingError(f"compile: {missing}")
            if missing:  # the gpt2 presets' CUDA default, not asked for: run without it
                cfg.compile = False
                self.notes.append(f"compile off: {missing}")
        dev.set_matmul_precision(cfg.matmul_precision)

    def _seed(self) -> None:
        torch.manual_seed(self.cfg.seed)
        if self.device_type == "cuda":
            torch.cuda.manual_seed(self.cfg.seed)  # the current device: use_device set it

    def _seed_dropout_per_rank(self) -> None:
        """Every rank built the same initial model from the seed (DDP also broadcasts rank
        0's); from here each rank draws its own dropout masks, or N processes would drop the
        same units on their different batches. Rank 0 keeps the seed's stream, so one process
        and rank 0 of many draw alike. (A resumed run restores rank 0's state, then reseeds
        the others by rank and step.)"""
        if self.rank == 0:
            return
        seed = self.cfg.seed + 1_000_003 * self.rank + self.step
        torch.manual_seed(seed)
        if self.device_type == "cuda":
            torch.cuda.manual_seed(seed)

    def _load_tokens(self) -> None:
        """The tokenizer (the checkpoint's, when there is one) and, to train, the data."""
        cfg = self.cfg
        codec = None
        if self.ckpt:
            with damaged_checkpoint_means(str(self.ckpt_path)):
                codec = codec_from_state(self.ckpt["tokenizer"])
        if cfg.mode == "sample":
            self.codec = codec or load_codec("gpt2")
            self.data = None
        else:
            self.data = load_data(cfg.tokenizer, cfg.data, cfg.max_bytes, cfg.val_fraction, codec=codec)
            self.codec = self.data.codec
        samples = cfg.mode == "sample" or cfg.sample_interval > 0
        # a prompt the tokenizer cannot encode fails now, not at the first sample
        self.prompt_ids = self._encode_prompt(cfg.prompt) if samples else None

    def _finish_config(self) -> None:
        """Vocabulary size and gradient accumulation, now that the tokenizer is known."""
        cfg = self.cfg
        if not self.ckpt:
            fitted = self._fit_batch_to_memory() if cfg.mode == "train" else None
            finish_config(cfg, self.codec.vocab_size, self.world_size)
            if fitted:
                self.notes.append(
                    f"{fitted}; {cfg.gradient_accumulation_steps} micro-batch(es) a step keep "
                    f"total_batch_size {cfg.total_batch_size}"
                )
        elif cfg.mode == "train":
            # a resumed run may change nproc: keep the tokens per step, re-split them
            cfg.total_batch_size = self.ckpt["config"]["total_batch_size"]
            finish_config(cfg, cfg.real_vocab_size, self.world_size)

    def _fit_batch_to_memory(self) -> str | None:
        """gpt2* on a GPU, batch_size not given: the largest micro-batch that fits (memory.py)."""
        cfg = self.cfg
        free = dev.free_memory(self.device)  # None off CUDA
        if free is not None and self.ddp:
            # every process must run the same micro-batch: the GPU with the least free decides
            import torch.distributed as dist

            least = torch.tensor([free], device=self.device)
            dist.all_reduce(least, op=dist.ReduceOp.MIN)
            free = int(least.item())
        vocab = cfg.vocab_size or padded(self.codec.vocab_size, cfg.vocab_pad)
        return fit_batch_to_memory(cfg, self.given, free, vocab, self.world_size)

    def _make_samplers(self) -> None:
        cfg = self.cfg
        if cfg.mode == "train":
            self.batches = Batches(self.data, cfg.batch_size, cfg.block_size, cfg.seed, self.device)
        # the sampler's own generator: samples during training never disturb the training RNG
        self.sample_gen = torch.Generator(device=self.device).manual_seed(cfg.seed + 2)

    def _build_optimizer(self) -> None:
        """AdamW (and fp16's loss scaler) for training; a resumed run restores them."""
        cfg = self.cfg
        self.optimizer = None
        self.scaler = None
        if cfg.mode != "train":
            return
        self.optimizer = self.raw_model.configure_optimizers(
            cfg.weight_decay,
            cfg.learning_rate,
            (cfg.beta1, cfg.beta2),
            self.device_type,
            fused=cfg.fused_adamw,
        )
        if cfg.dtype == "fp16":
            self.scaler = torch.amp.GradScaler("cuda")
        if self.ckpt:
            with damaged_checkpoint_means(str(self.ckpt_path)):
                self._restore_training_state(self.ckpt)
            # load_state_dict brings back the saved run's `fused` flag (e.g. off, from a CPU
            # run): this run's device and setting decide
            fused = (
                cfg.fused_adamw if cfg.fused_adamw is not None else fused_adamw_available(self.device_type)
            )
            for group in self.optimizer.param_groups:
                group["fused"] = bool(fused)
                if fused:
                    group["foreach"] = None
            if self.rank:
                self._seed_dropout_per_rank()

    def _wrap_model(self) -> None:
        """Compile before the DDP wrap, as build-nanogpt does."""
        if self.cfg.compile:
            self.model = torch.compile(self.model)
        if self.ddp:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.local_rank] if self.device_type == "cuda" else None
            # broadcast_buffers=False: the only buffers are the causal masks, equal everywhere;
            # broadcasting them every forward pass is wasted traffic
            self.model = DDP(self.model, device_ids=ids, broadcast_buffers=False)

    def _measure_setup(self) -> None:
        """What MFU and the GPU panel need: parameters, FLOPs per token, the device's peak."""
        cfg = self.cfg
        self.n_params = self.raw_model.get_num_params()
        self.flops_per_token = flops_per_token(
            self.n_params, cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head, cfg.block_size
        )
        self.peak = peak_flops(dev.gpu_name(self.device), cfg.dtype, cfg.matmul_precision)
        dev.reset_peak_memory(self.device)
        self.gpu = dev.GpuStats(self.device)
        self._check_epoch_share()

    def _check_epoch_share(self) -> None:
        """A step that reads a big share of the corpus (gpt2's 524288 tokens over the default
        ~1M-token corpus) overfits within tens of steps and looks broken: say so, and how."""
        cfg = self.cfg
        if cfg.mode != "train" or self.data is None or not len(self.data.train):
            return
        share = cfg.total_batch_size / len(self.data.train)
        if share > EPOCH_SHARE_WARNING:
            self.epoch_warning = (
                f"one step reads {share:.0%} of the {len(self.data.train):,} training tokens: "
                f"{cfg.max_iters * share:,.0f} epochs in {cfg.max_iters} steps, so the model will "
                "memorize this corpus; give more data, e.g. data=DIR of uint16 .bin token shards "
                "(nanoGPT's prepare.py or llm.c's fineweb.py make them)"
            )
            self.notes.append(self.epoch_warning)
            if self.master:
                print(f"warning: {self.epoch_warning}", file=sys.stderr, flush=True)

    def _build_model(self) -> GPT:
        cfg = self.cfg
        if self.ckpt:
            with damaged_checkpoint_means(str(self.ckpt_path)):
                mc = GPTConfig(**self.ckpt["model_config"])
                mc.attention = cfg.attention
                model = GPT(mc)
                model.load_state_dict(self.ckpt["model"])
        elif cfg.init_from:
            # GPT-2's shape comes from its folder; the vocabulary may be padded (50257 -> 50304)
            extra = {"vocab_size": cfg.vocab_size} if cfg.vocab_size else {}
            try:
                model = GPT.from_pretrained(
                    cfg.init_from, attention=cfg.attention, dropout=cfg.dropout, **extra
                )
            except (OSError, ValueError, KeyError) as e:
                raise SettingError(f"init_from: {e}".splitlines()[0]) from None
            mc = model.config
            if cfg.mode == "train" and cfg.block_size > mc.block_size:
                raise SettingError(
                    f"block_size {cfg.block_size} is longer than {cfg.init_from}'s {mc.block_size} positions"
                )
            cfg.n_layer, cfg.n_head, cfg.n_embd = mc.n_layer, mc.n_head, mc.n_embd
            cfg.vocab_size, cfg.real_vocab_size = mc.vocab_size, mc.real_vocab_size
        else:
            mc = GPTConfig(
                block_size=cfg.block_size,
                vocab_size=cfg.vocab_size,
                n_layer=cfg.n_layer,
                n_head=cfg.n_head,
                n_embd=cfg.n_embd,
                dropout=cfg.dropout,
                bias=cfg.bias,
                attention=cfg.attention,
                real_vocab_size=cfg.real_vocab_size,
            )
            try:
                model = GPT(mc)
            except ValueError as e:
                raise SettingError(str(e)) from None
        return model.to(self.device)

    def _restore_training_state(self, ckpt: dict) -> None:
        # (loaded with mmap: tensors that stay on the CPU remain copy-on-write maps of the file,
        # which a later checkpoint replaces by rename, never by writing into it)
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.step = ckpt["step"]
        self.batches.load_state(ckpt["data_rng"])
        torch.set_rng_state(ckpt["torch_rng"])
        if self.device_type == "cuda" and ckpt.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(ckpt["cuda_rng"])
        try:
            self.sample_gen.set_state(ckpt["sample_rng"])
        except RuntimeError:  # saved on another kind of device (cuda <-> cpu): samples start afresh
            self.ctx.emit("log", message="sampler state from another device: reseeded")
        if self.scaler is not None and ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.best_val_loss = ckpt.get("best_val_loss")
        self.last_loss = ckpt.get("loss")

    # -- the pieces of a step -------------------------------------------------------------
    def autocast(self):
        return dev.autocast(self.device, self.cfg.dtype)

    @torch.no_grad()
    def estimate_loss(self) -> dict[str, float]:
        """Mean loss over eval_iters fixed batches of each split (the model in eval mode)."""
        self.raw_model.eval()
        out = {}
        for split in ("train", "val"):
            losses = []
            for x, y in self.batches.eval_batches(split, self.cfg.eval_iters):
                with self.autocast():
                    _, loss = self.raw_model(x, y)
                losses.append(loss.item())
            out[split] = sum(losses) / len(losses)
        self.raw_model.train()
        return out

    def _encode_prompt(self, prompt: str) -> list[int]:
        try:
            ids = self.codec.encode(prompt) if prompt else []
        except DataError as e:
            raise SettingError(f"prompt: {e}") from None
        # no prompt: start from the document separator, as a new document would
        return ids or [self.codec.eot if self.codec.eot is not None else 0]

    @torch.no_grad()
    def sample(self) -> list[str]:
        cfg = self.cfg
        ids = self.prompt_ids
        self.raw_model.eval()
        x = torch.tensor(ids, dtype=torch.long, device=self.device)[None, :]
        texts = []
        for _ in range(cfg.num_samples):
            with self.autocast():
                y = self.raw_model.generate(
                    x, cfg.max_new_tokens, cfg.temperature, cfg.top_k, cfg.top_p, generator=self.sample_gen
                )
            texts.append(self.codec.decode(y[0, len(ids) :].tolist()))
        self.raw_model.train()
        return texts

    def save_checkpoint(self) -> None:
        if not self.master:
            return
        cfg = self.cfg
        ckpt = {
            "model": self.raw_model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "model_config": asdict(self.raw_model.config),
            "config": asdict(cfg),
            "step": self.step,
            "loss": self.last_loss,
            "best_val_loss": self.best_val_loss,
            "tokenizer": self.codec.state(),
            "data_rng": self.batches.state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if self.device_type == "cuda" else None,
            "sample_rng": self.sample_gen.get_state(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
        }
        path = self.ctx.path(CHECKPOINT)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        torch.save(ckpt, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)  # a kill -9 mid-write leaves the previous checkpoint whole
        self.last_checkpoint_step = self.step
        self.ctx.emit("checkpoint", step=self.step, path=CHECKPOINT)

    def _stop_before_step(self) -> bool:
        """Stop here? Every process must answer alike, or one would wait for the others forever."""
        if not self.ddp:
            return self.ctx.stop_requested  # one process: ask now, not a step later
        # DDP: what the processes agreed in the last step's all-reduce. A stop asked before the
        # first step therefore costs one step: asking the others now would take a collective
        # of its own, before every step, which is what carrying the flag in the step's saves.
        return self.stop_agreed

    def _all_reduce_step(self, loss_sum: torch.Tensor) -> torch.Tensor:
        """DDP: the step's one all-reduce (besides DDP's own of the gradients). Each process
        adds [its share of the loss, was it asked to stop, has it judged the run diverged];
        summed (gloo has no AVG), every process holds the same three numbers, so all stop at
        the same step. One message, not three: each collective waits for every process."""
        import torch.distributed as dist

        flags = torch.tensor(
            [float(self.ctx.stop_requested), float(self.divergence is not None)], device=self.device
        )
        shared = torch.cat([loss_sum.reshape(1), flags])  # (3,)
        dist.all_reduce(shared, op=dist.ReduceOp.SUM)
        return shared

    def train_step(self) -> tuple[float, float, float]:
        """One optimizer step; returns (mean loss, grad norm, lr). `self.skipped` says whether
        fp16's loss scaler skipped the update (inf/NaN gradients: it lowers the scale instead)."""
        cfg = self.cfg
        lr = get_lr(self.step, cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        accum = cfg.gradient_accumulation_steps
        self.skipped = False
        batches = self.batches.train_micro_batches(accum, self.rank, self.world_size)
        self.optimizer.zero_grad(set_to_none=True)
        loss_sum = torch.zeros((), device=self.device)
        for micro, (x, y) in enumerate(batches):
            # under DDP, average gradients only after the last micro-batch
            sync = not self.ddp or micro == accum - 1
            ctx = self.model.no_sync() if (self.ddp and not sync) else nullcontext()
            with ctx:
                with self.autocast():
                    _, loss = self.model(x, y)
                loss = loss / accum  # mean over the micro-batches, not their sum
                loss_sum += loss.detach()
                if self.scaler is not None:
                    self.scaler.scale(loss).backward()
                else:
                    loss.backward()
        shared = self._all_reduce_step(loss_sum) if self.ddp else None
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        max_norm = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")
        norm = torch.nn.utils.clip_grad_norm_(self.raw_model.parameters(), max_norm)
        if self.scaler is not None:
            scale = self.scaler.get_scale()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.skipped = self.scaler.get_scale() < scale  # update() lowers it only after a skip
        else:
            self.optimizer.step()
        self.step += 1
        if shared is None:
            return loss_sum.item(), norm.item(), lr
        # read once the update is queued: the GPU is not left idle while the CPU waits for it
        loss, stops, diverged = shared.tolist()
        self.stop_agreed, self.divergence_agreed = stops > 0, diverged > 0
        return loss / self.world_size, norm.item(), lr

    # -- the loop -----------------------------------------------------------------------
    def start_event(self, total: int) -> None:
        self.ctx.start(
            config=asdict(self.cfg),
            device=dev.describe(self.device),
            total=total,
            torch=torch.__version__,
            cuda=torch.version.cuda or "none",
        )
        if self.master:
            for note in self.notes:
                self.ctx.emit("log", message=note)
            source = self.data.source if self.data is not None else "checkpoint"
            self.ctx.emit(
                "log",
                message=f"{self.n_params / 1e6:.2f}M parameters, tokenizer "
                f"{self.cfg.tokenizer} ({self.codec.vocab_size} ids), "
                f"data {source}, {self.world_size} process(es), dtype {self.cfg.dtype}",
            )
            if self.step:
                self.ctx.emit("log", message=f"resumed at step {self.step}")

    def train(self) -> None:
        cfg, ctx = self.cfg, self.ctx
        self.start_event(cfg.max_iters)
        tokens_per_step = cfg.total_batch_size
        stopped = False
        val_loss = None
        cadence, eta = Cadence(cfg, self.given), Eta(cfg)
        progress_t = time.perf_counter()  # the first progress after 3 steps (or a second)
        # rank 0 alone judges (it alone sees the val loss); under DDP the others hear its
        # verdict in the next step's all-reduce, and every process ends after that step
        guard = (
            DivergenceGuard(GUARD_WINDOW, GUARD_FACTOR, min_steps=cfg.warmup_iters)
            if cfg.guard and cfg.mode == "train" and self.master
            else None
        )
        steps_here = 0
        while self.step < cfg.max_iters:
            if self.divergence_agreed:  # DDP: rank 0's verdict reached everyone with the last step
                break
            if self._stop_before_step():
                stopped = True
                break
            dev.synchronize(self.device)
            t0 = time.perf_counter()
            with out_of_memory_means(
                f"out of memory in step {self.step + 1} with batch_size="
                f"{cfg.batch_size}, block_size={cfg.block_size}: lower batch_size "
                "(total_batch_size keeps the tokens per step)"
            ):
                loss, norm, lr = self.train_step()
            dev.synchronize(self.device)
            dt = time.perf_counter() - t0
            steps_here += 1
            # under compile the first step(s) include compiling: not a speed, and not the ETA's
            warming = cfg.compile and steps_here <= COMPILE_WARMUP_STEPS
            if not warming:
                eta.add_step(dt)
            self.last_loss = loss
            tok_per_s = tokens_per_step / dt
            step = dict(
                step=self.step, loss=loss, lr=lr, grad_norm=norm, dt_ms=dt * 1000, tok_per_s=tok_per_s
            )
            if warming:
                step["warmup"] = True
            if self.skipped:
                step["skipped"] = True  # fp16: gradients overflowed, the scaler skipped this update
            # the peak is one device's: under DDP each of world_size devices did 1/world_size of it
            utilization = mfu(tok_per_s / self.world_size, self.flops_per_token, self.peak)
            if utilization is not None and not warming:
                step["mfu"] = utilization
            step.update(self.gpu.fields())
            ctx.emit("step", **step)
            last = self.step == cfg.max_iters
            reports_s = 0.0
            evaluated = None
            if self.master and cadence.eval_due(self.step, last):
                t_eval = time.perf_counter()
                losses = self.estimate_loss()
                val_loss = losses["val"]
                if self.best_val_loss is None or val_loss < self.best_val_loss:
                    self.best_val_loss = val_loss
                evaluated = val_loss
                ctx.emit("eval", step=self.step, val_loss=val_loss, train_loss=losses["train"])
                eta.add_eval(time.perf_counter() - t_eval)
                reports_s += eta.eval_s
            if self.master and cadence.sample_due(self.step, last):
                t_sample = time.perf_counter()
                for text in self.sample():
                    ctx.emit("sample", step=self.step, prompt=cfg.prompt, text=text)
                eta.add_sample(time.perf_counter() - t_sample)
                reports_s += eta.sample_s
            if guard is not None and self.divergence is None:
                # a step fp16's scaler skipped changed no weight: its overflowed loss is not a divergence
                self.divergence = guard.check(self.step, None if self.skipped else loss, evaluated)
                if self.divergence is not None and not self.ddp:
                    break
            if (
                cfg.checkpoint_interval > 0
                and self.step % cfg.checkpoint_interval == 0
                and not last
                and self.divergence is None
                and not (guard is not None and guard.suspect)
            ):  # never replace a good one with a suspect
                self.save_checkpoint()
            now = time.perf_counter()
            eta.add_other(now - t0 - dt - reports_s)  # checkpoints, events: the loop's own cost
            if self.master and (last or now - progress_t >= 1.0 or eta.steps_seen == 3):
                # the lab's own ETA (steps left at the recent step time, plus the reports
                # still due): elapsed / done would count an early eval as every step's cost
                progress_t = now
                step_s = eta.median_step_s()
                left = eta.seconds_left(self.step)  # None while only warm-up steps were timed
                ctx.emit(
                    "progress",
                    done=self.step,
                    total=cfg.max_iters,
                    unit="steps",
                    rate=1 / step_s if step_s else None,
                    eta_s=None if left is None else round(left, 1),
                )
        if self.divergence is not None or self.divergence_agreed:
            self._end_diverged(self.divergence or "rank 0 judged the run diverged")
            return
        self.save_checkpoint()
        summary = {"steps": self.step, "loss": self.last_loss}
        if val_loss is not None or self.best_val_loss is not None:
            summary["val_loss"] = val_loss if val_loss is not None else self.best_val_loss
            summary["best_val_loss"] = self.best_val_loss
        ctx.end("stopped" if stopped else "done", summary)

    def _end_diverged(self, reason: str) -> None:
        """The run stops here; ckpt.pt (if any) still holds the last good state: point at it."""
        summary = {
            "steps": self.step,
            "loss": self.last_loss,
            "last_good_checkpoint_step": self.last_checkpoint_step,
        }
        if self.best_val_loss is not None:
            summary["best_val_loss"] = self.best_val_loss
        if self.last_checkpoint_step is not None:
            self.ctx.emit("checkpoint", step=self.last_checkpoint_step, path=CHECKPOINT, last_good=True)
        self.ctx.end("diverged", summary, reason=reason)

    def sample_only(self) -> None:
        """mode=sample: generate from the loaded checkpoint (or GPT-2 weights)."""
        cfg = self.cfg
        step = self.resumed_step
        self.start_event(cfg.num_samples)
        torch.manual_seed(cfg.seed)
        self.sample_gen.manual_seed(cfg.seed)
        samples = 0
        for text in self.sample():
            samples += 1
            self.ctx.emit("sample", step=step, prompt=cfg.prompt, text=text)
        self.ctx.end("done", {"samples": samples, "step": step})
