"""GPT-2, in the shape of Karpathy's nanoGPT (one file, paper vocabulary).

    from labs.gpt import GPT, GPTConfig
    model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=32, vocab_size=65))
    logits, loss = model(idx, targets)             # idx, targets: (B, T) token ids
    model = GPT.from_pretrained("path/to/gpt2")    # a LOCAL Hugging Face folder, no transformers

Shapes: B batch, T time (sequence), C channels (n_embd), nh heads, hs head size (C // nh),
V vocabulary. The model is the decoder-only Transformer of "Language Models are
Unsupervised Multitask Learners" (GPT-2): pre-LayerNorm blocks, learned position
embeddings, GELU (tanh approximation) MLP of width 4C, a final LayerNorm, and a language
model head that shares its weight with the token embedding ("weight tying").

`vocab_size` may be padded above the tokenizer's vocabulary (50257 -> 50304, a multiple
of 64, so the big matmuls hit fast kernels); `real_vocab_size` remembers the true size so
sampling never emits an id no tokenizer can decode.
"""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
from torch.nn import functional as F


@dataclass
class GPTConfig:
    block_size: int = 1024
    vocab_size: int = 50257  # may be padded; see real_vocab_size
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True  # GPT-2 has biases in Linears and LayerNorms
    attention: str = "sdpa"  # "sdpa" (flash attention where the device has it) or "manual"
    real_vocab_size: int | None = field(default=None)  # ids >= this are padding

    def __post_init__(self):
        if self.real_vocab_size is None:
            self.real_vocab_size = self.vocab_size

    def check(self) -> None:
        """Raise ValueError with one line for a shape that cannot be built."""
        for name in ("block_size", "vocab_size", "n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 (got {getattr(self, name)})")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1) (got {self.dropout})")
        if self.attention not in ("sdpa", "manual"):
            raise ValueError(f"attention must be sdpa or manual (got {self.attention!r})")
        if not 1 <= self.real_vocab_size <= self.vocab_size:
            raise ValueError(
                f"vocab_size ({self.vocab_size}) is smaller than the tokenizer's "
                f"vocabulary ({self.real_vocab_size})"
            )


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # query, key, value projections for all heads, in one batch
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.c_proj.SCALE_INIT = True  # a residual projection: see GPT._init_weights
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.use_sdpa = config.attention == "sdpa"
        if not self.use_sdpa:
            # the causal mask: position t may only look at positions <= t
            mask = torch.tril(torch.ones(config.block_size, config.block_size))
            self.register_buffer(
                "bias", mask.view(1, 1, config.block_size, config.block_size), persistent=False
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        # (B, T, C) -> (B, nh, T, hs): the heads become a batch dimension
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if self.use_sdpa:
            # one fused kernel (FlashAttention on recent GPUs): the T x T matrix never hits memory
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=None, is_causal=True, dropout_p=self.dropout if self.training else 0.0
            )
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, nh, T, T)
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU(approximate="tanh")  # GPT-2 used the tanh approximation
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.c_proj.SCALE_INIT = True
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm residual block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        config.check()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),  # token embeddings
                wpe=nn.Embedding(config.block_size, config.n_embd),  # position embeddings
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # weight tying (Press & Wolf 2017): reading a token and writing it share one matrix
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            std = 0.02
            if getattr(module, "SCALE_INIT", False):
                # GPT-2: residual projections scaled by 1/sqrt(N), N = 2 residual adds per layer,
                # so the residual stream's variance does not grow with depth
                std *= (2 * self.config.n_layer) ** -0.5
            torch.nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def get_num_params(self, non_embedding: bool = True) -> int:
        """Parameters, tied weights counted once. nanoGPT's convention: position
        embeddings are subtracted by default (the token embeddings stay, because weight
        tying makes them the lm_head too)."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.transformer.wpe.weight.numel()
        return n

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        B, T = idx.size()
        if T > self.config.block_size:
            raise ValueError(f"sequence of length {T} is longer than block_size {self.config.block_size}")
        pos = torch.arange(0, T, dtype=torch.long, device=idx.device)  # (T,)
        tok_emb = self.transformer.wte(idx)  # (B, T, C)
        pos_emb = self.transformer.wpe(pos)  # (T, C)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)  # (B, T, V)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        else:
            # at inference only the last position's logits are needed
            logits = self.lm_head(x[:, [-1], :])  # (B, 1, V)
            loss = None
        return logits, loss

    # -- training ---------------------------------------------------------------------
    def configure_optimizers(
        self,
        weight_decay: float,
        learning_rate: float,
        betas: tuple[float, float],
        device_type: str,
        fused: bool | None = None,
    ) -> torch.optim.AdamW:
        """AdamW with two groups: matrices (Linear weights, embeddings) are decayed;
        biases and LayerNorm gains are not. `fused=None` uses the fused kernel where the
        device has one."""
        params = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        if fused is None:
            fused = fused_adamw_available(device_type)
        extra = {"fused": True} if fused else {}
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, **extra)

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Extend idx (B, T) by max_new_tokens, feeding each prediction back in."""
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size :]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :].float()
            next_id = sample_next(logits, temperature, top_k, top_p, self.config.real_vocab_size, generator)
            idx = torch.cat((idx, next_id), dim=1)
        return idx

    # -- loading GPT-2 ----------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | Path, **overrides) -> "GPT":
        """A local Hugging Face GPT-2 folder (config.json plus model.safetensors or
        pytorch_model.bin) -> GPT with the same logits as transformers' GPT2LMHeadModel.
        Nothing is downloaded: fetch the folder yourself first if you want OpenAI's weights."""
        path = Path(path).expanduser()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path}: no config.json (expected a Hugging Face GPT-2 folder)")
        hf = json.loads((path / "config.json").read_text(encoding="utf-8"))
        config = GPTConfig(
            n_layer=hf["n_layer"],
            n_head=hf["n_head"],
            n_embd=hf["n_embd"],
            block_size=hf.get("n_positions", hf.get("n_ctx", 1024)),
            vocab_size=hf["vocab_size"],
            bias=True,
            dropout=0.0,
        )
        for key, value in overrides.items():
            setattr(config, key, value)
        config.real_vocab_size = hf["vocab_size"]
        model = cls(config)
        sd = model.state_dict()
        sd_hf = _read_hf_state_dict(path)
        # Hugging Face names keys "transformer.h.0..." (GPT2LMHeadModel) or "h.0..." (GPT2Model)
        sd_hf = {
            k if k.startswith(("transformer.", "lm_head.")) else f"transformer.{k}": v
            for k, v in sd_hf.items()
        }
        sd_hf = {
            k: v for k, v in sd_hf.items() if not k.endswith((".attn.masked_bias", ".attn.bias"))
        }  # buffers, not weights
        sd_hf.setdefault("lm_head.weight", sd_hf["transformer.wte.weight"])  # tied
        # OpenAI's checkpoints use a Conv1D module: its weights are the transpose of nn.Linear's
        transposed = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
        missing = sorted(set(sd) - set(sd_hf))
        if missing:
            raise ValueError(f"{path}: checkpoint lacks {missing[0]} (and {len(missing) - 1} more)")
        with torch.no_grad():
            for k, v in sd_hf.items():
                if k not in sd:
                    continue
                v = v.t() if k.endswith(transposed) else v
                if k in ("transformer.wte.weight", "lm_head.weight") and v.shape[0] < sd[k].shape[0]:
                    sd[k][: v.shape[0]].copy_(v)  # a padded vocabulary keeps its extra rows
                    continue
                if v.shape != sd[k].shape:
                    raise ValueError(f"{path}: {k} has shape {tuple(v.shape)}, expected {tuple(sd[k].shape)}")
                sd[k].copy_(v)
        return model


def sample_next(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    real_vocab_size: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """(B, V) logits -> (B, 1) sampled ids. Padded ids (>= real_vocab_size) never come out."""
    if real_vocab_size is not None and real_vocab_size < logits.size(-1):
        logits = logits[:, :real_vocab_size]
    if temperature <= 0:
        return torch.argmax(logits, dim=-1, keepdim=True)  # greedy
    logits = logits / temperature
    if top_k is not None and top_k > 0:
        v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
        logits = logits.masked_fill(logits < v[:, [-1]], float("-inf"))
    if top_p is not None and 0.0 < top_p < 1.0:
        # nucleus sampling: keep the smallest set of ids whose probability reaches top_p
        sorted_logits, sorted_idx = torch.sort(logits, descending=True)
        cum = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
        drop = cum - F.softmax(sorted_logits, dim=-1) >= top_p  # mass before this id already enough
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, sorted_idx, sorted_logits)
    probs = F.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)


def fused_adamw_available(device_type: str) -> bool:
    """Does this torch have a fused AdamW kernel for this device type?"""
    if "fused" not in inspect.signature(torch.optim.AdamW).parameters:
        return False
    if device_type == "cuda":
        return True
    if device_type in ("cpu", "mps"):
        try:
            p = torch.nn.Parameter(torch.zeros(1, device=device_type))
            p.grad = torch.zeros(1, device=device_type)
            torch.optim.AdamW([p], fused=True).step()
            return True
        except (RuntimeError, TypeError):
            return False
    return False


def _read_hf_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if (path / "model.safetensors").is_file():
        from safetensors.torch import load_file

        return load_file(str(path / "model.safetensors"))
    if (path / "pytorch_model.bin").is_file():
        return torch.load(path / "pytorch_model.bin", map_location="cpu", weights_only=True)
    raise FileNotFoundError(f"{path}: neither model.safetensors nor pytorch_model.bin")
