"""The attention lab: the formula against the fused kernel, in correctness, time and memory.

    python -m labs.attention.run --out runs                                   # ~1 minute on a CPU
    python -m labs.attention.run --out runs --set run=RUN --set layer=1 --set head=2   # a GPT lab run
    python -m labs.attention.run RUN_DIR          # how studytui starts it (config.json there)

1. check: manual attention and `scaled_dot_product_attention` on the same random inputs,
   in float64 and in the sweep's precision: largest output and gradient differences
   (`table` "equality"); on CUDA, which SDPA backends accept the inputs (`table` "sdpa_backends").
2. sweep: for each head size and T in `seq_lens`, the best time of `repeats` calls and the
   peak memory of each (`progress`, then `table` "sweep" and `visual` kind "series" name
   "sweep": x = T, one line per implementation, for ms and for MB), and the cross-over T
   from which SDPA is faster (a `log` line, and `crossover_T` in the summary).
3. map (with `run=RUN`, a GPT lab run, or `checkpoint=PATH`, its ckpt.pt): one head's
   weights over the prompt's last 48 tokens (`visual` kind "heatmap" name "attention_map"
   with the tokens on both axes, also as shaded text in a `log`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from labs.attention.check import compare, sdpa_backends
from labs.attention.sweep import IMPLEMENTATIONS, crossover, measure
from labs.common.runctx import RunContext, SettingError

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
MAP_TOKENS = 48


@dataclass
class AttentionConfig:
    seq_lens: str = "128,256,512,1024,2048"
    head_dims: str = "64"
    batch_size: int = 1
    n_head: int = 4
    repeats: int = 3
    dtype: str = "auto"
    device: str = "auto"
    threads: int = 1
    run: str | None = None
    checkpoint: str | None = None
    layer: int = 0
    head: int = 0
    prompt: str = "First Citizen:\nBefore we proceed any further, hear me speak."


def pick_device(setting: str) -> str:
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise SettingError(f"device: {setting} asked for, but torch sees no CUDA GPU here")
    return setting


def run_check(ctx: RunContext, device: str, dtype: torch.dtype) -> bool:
    rows = compare(device, torch.float64) + (compare(device, dtype) if dtype != torch.float64 else [])
    ctx.emit(
        "table",
        name="equality",
        columns=["shape", "dtype", "max_out_diff", "max_grad_diff", "match"],
        rows=[
            [
                "x".join(map(str, r["shape"])),
                r["dtype"],
                float(f"{r['max_out_diff']:.3g}"),
                float(f"{r['max_grad_diff']:.3g}"),
                r["outputs_match"] and r["grads_match"],
            ]
            for r in rows
        ],
    )
    backends = sdpa_backends(device, dtype)
    if backends:
        ran = next((name for name, ok in backends.items() if ok), None)
        ctx.emit(
            "table",
            name="sdpa_backends",
            columns=["backend", "accepts these inputs"],
            rows=[[name, ok] for name, ok in backends.items()],
        )
        ctx.emit("log", message=f"SDPA runs the {ran} backend here ({str(dtype).removeprefix('torch.')})")
    return all(r["outputs_match"] and r["grads_match"] for r in rows)


def run_sweep(
    ctx: RunContext, cfg: AttentionConfig, device: str, dtype: torch.dtype
) -> tuple[list[dict], bool]:
    seq_lens = [int(t) for t in cfg.seq_lens.split(",")]
    head_dims = [int(d) for d in cfg.head_dims.split(",")]
    plan = [(d, t, impl) for d in head_dims for t in seq_lens for impl in IMPLEMENTATIONS]
    rows: list[dict] = []
    for done, (d, t, impl) in enumerate(plan, 1):
        if ctx.stop_requested:
            return rows, True
        r = measure(
            impl,
            device,
            batch=cfg.batch_size,
            n_head=cfg.n_head,
            T=t,
            head_dim=d,
            dtype=dtype,
            repeats=cfg.repeats,
        )
        rows.append({"head_dim": d, "T": t, "impl": impl, **r})
        ctx.emit("progress", done=done, total=len(plan), unit="measurements", rate=None, eta_s=None)
    ctx.emit(
        "table",
        name="sweep",
        columns=["head_dim", "T", "implementation", "ms", "peak_mb"],
        rows=[[r["head_dim"], r["T"], r["impl"], r["ms"], r["peak_mb"]] for r in rows],
    )
    for d in head_dims:
        mine = [r for r in rows if r["head_dim"] == d]
        ctx.emit(
            "visual",
            kind="series",
            name="sweep",
            head_dim=d,
            x_label="T",
            x=seq_lens,
            lines={
                f"{impl} {what}": [r[what] for r in mine if r["impl"] == impl]
                for impl in IMPLEMENTATIONS
                for what in ("ms", "peak_mb")
            },
        )
        t_cross = crossover(mine)
        ctx.emit(
            "log",
            message=f"head_dim {d}: SDPA is faster from T = {t_cross} on"
            if t_cross
            else f"head_dim {d}: SDPA was not faster at every T from some length on",
        )
    return rows, False


def run_map(ctx: RunContext, cfg: AttentionConfig) -> None:
    from labs.attention.maps import attention_map, load_gpt

    model, codec = load_gpt(cfg.checkpoint or cfg.run)
    weights, tokens = attention_map(model, codec, cfg.prompt, cfg.layer, cfg.head)
    weights, tokens = weights[-MAP_TOKENS:, -MAP_TOKENS:], tokens[-MAP_TOKENS:]
    ctx.emit(
        "visual",
        kind="heatmap",
        name="attention_map",
        title=f"layer {cfg.layer}, head {cfg.head}",
        row_labels=tokens,
        col_labels=tokens,
        values=[[round(v, 4) for v in row] for row in weights.tolist()],
    )
    shades = " ░▒▓█"
    lines = [
        f"{tok!r:>10.10} " + "".join(shades[min(4, int(v * 4.999))] for v in row)
        for tok, row in zip(tokens, weights.tolist())
    ]
    ctx.emit(
        "log",
        message=f"attention of layer {cfg.layer}, head {cfg.head} (row: a token; "
        f"columns: the tokens it looks at, darker is more):\n" + "\n".join(lines),
    )


def main(argv: list[str] | None = None) -> None:
    with RunContext.from_argv("attention", argv) as ctx:
        cfg = AttentionConfig(**ctx.settings)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        device = pick_device(cfg.device)
        dtype = DTYPES.get(cfg.dtype) or (torch.bfloat16 if device.startswith("cuda") else torch.float32)
        if device == "cpu" and dtype != torch.float32:
            ctx.emit(
                "log", message=f"{cfg.dtype} on a CPU is emulated and slow: the times say little about GPUs"
            )
        ctx.start(
            config={**asdict(cfg), "device_used": device, "dtype_used": str(dtype).removeprefix("torch.")},
            device=device,
        )
        equal = run_check(ctx, device, dtype)
        rows, stopped = run_sweep(ctx, cfg, device, dtype)
        if (cfg.checkpoint or cfg.run) and not stopped:
            run_map(ctx, cfg)
        summary = {
            "equal": equal,
            "crossover_T": crossover([r for r in rows if r["head_dim"] == rows[0]["head_dim"]])
            if rows
            else None,
        }
        longest = max((r["T"] for r in rows), default=None)
        for r in rows:
            if r["T"] == longest and r["head_dim"] == rows[0]["head_dim"]:
                summary[f"{r['impl']}_peak_mb"] = r["peak_mb"]
                summary[f"{r['impl']}_ms"] = r["ms"]
        summary["longest_T"] = longest
        ctx.end("stopped" if stopped else "done", summary)


if __name__ == "__main__":
    main()
