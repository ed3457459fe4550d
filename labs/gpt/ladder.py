"""The GPT-2 speed-up ladder (build-nanogpt, lecture part 2): one change at a time, timed.

    python -m labs.gpt.ladder --out runs                             # default rungs for this device
    python -m labs.gpt.ladder --out runs --set preset=gpt2 --set rungs=fp32,tf32,bf16,compile,flash,vocab,fused
    python -m labs.gpt.ladder RUN_DIR                                # how studytui starts it

Each rung keeps every earlier change that ran and adds one (a rung that cannot run here,
or fails, is dropped: the rungs after it run without its change, and the table says why):

| rung    | change                                           | why it is faster                          |
| fp32    | matmul_precision=highest, manual attention       | the baseline: true fp32 everywhere        |
| tf32    | matmul_precision=high                            | TF32 tensor cores for fp32 matmuls        |
| bf16    | dtype=bf16 (autocast)                            | half the bytes, bf16 tensor cores         |
| compile | torch.compile                                    | fused kernels, fewer trips to memory      |
| flash   | attention=sdpa                                   | FlashAttention: no T x T matrix in memory |
| vocab   | vocab_pad=64 (50257 -> 50304)                    | matmul sizes that tile evenly             |
| fused   | fused AdamW                                      | one kernel for the whole optimizer step   |

Every rung builds a fresh model from the same seed, runs `warmup_steps` untimed steps
(compile happens there) and then `steps` timed ones on random token ids (the speed of
a step does not depend on what the tokens say), synchronizing the device around each.
It reports ms/step, tokens/s, the speed-up over the previous rung that ran and over
fp32, MFU, and on CUDA each rung's peak memory (the cache emptied and the peak reset
before it). MFU is against the device's *bf16 dense* peak for every rung, as
build-nanogpt and llm.c report it (labs/gpt/mfu.py: 6N + 12*L*H*Q*T FLOPs per token):
against each rung's own peak (fp32, tf32, bf16) the column could fall while the ladder
gets faster. None where the peak is unknown, as on any CPU.

Prerequisites are checked before the first rung: compile needs Triton (CUDA) and a C
compiler, bf16 a device with native bfloat16, fused a fused AdamW kernel; a rung whose
prerequisite is missing is skipped with the reason.

On a CPU, bf16 runs ~100x slower than fp32 and compile spends ~40 s on its first step,
so the default rungs there leave them out; they are listed as skipped. Name rungs with
`rungs=` (a comma list) to run exactly those. Results: a `table` event named "ladder"
and `ladder.json` in the run folder (a list of {rung, change, status, ms_per_step,
tok_per_s, mfu, speedup_prev, speedup_fp32, loss}).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass

from labs.common.runctx import RunContext, SettingError, write_json_atomic
from labs.gpt.config import PRESETS, padded

LAB = "gpt-ladder"
GPT2_VOCAB = 50257


@dataclass(frozen=True)
class Rung:
    name: str
    change: str
    setting: dict


RUNGS = [
    Rung("fp32", "true fp32", {}),
    Rung("tf32", "TF32 matmuls", {"matmul_precision": "high"}),
    Rung("bf16", "bf16 autocast", {"dtype": "bf16"}),
    Rung("compile", "torch.compile", {"compile": True}),
    Rung("flash", "flash attention", {"attention": "sdpa"}),
    Rung("vocab", "vocab 50304", {"vocab_pad": 64}),
    Rung("fused", "fused AdamW", {"fused_adamw": True}),
]
BASE = {
    "matmul_precision": "highest",
    "dtype": "fp32",
    "compile": False,
    "attention": "manual",
    "vocab_pad": 1,
    "fused_adamw": False,
}
CPU_DEFAULT = ["fp32", "tf32", "flash", "vocab", "fused"]
COLUMNS = [
    "rung",
    "change",
    "ms/step",
    "tok/s",
    "vs previous",
    "vs fp32",
    "mfu (of bf16 peak)",
    "peak MB",
    "status",
]
MFU_PEAK_DTYPE = "bf16"  # every rung against the same peak: see the module docstring


def ladder_peak(gpu_name: str | None) -> float | None:
    from labs.gpt.mfu import peak_flops

    return peak_flops(gpu_name, MFU_PEAK_DTYPE)


def missing_prerequisites(device: str) -> dict[str, str]:
    """Rung name -> why it cannot run on this device (checked before any rung runs)."""
    from labs.gpt import device as dev
    from labs.gpt.model import fused_adamw_available

    missing = {}
    why = dev.compile_missing(device)
    if why:
        missing["compile"] = why
    if not dev.bf16_supported(device):
        missing["bf16"] = f"{dev.describe(device)} has no native bfloat16"
    if not fused_adamw_available(dev.device_type(device)):
        missing["fused"] = f"this torch has no fused AdamW for {dev.device_type(device)}"
    return missing


def choose_rungs(setting: str | None, device_type: str) -> list[str]:
    names = [r.name for r in RUNGS]
    if not setting or setting == "auto":
        return names if device_type == "cuda" else CPU_DEFAULT
    chosen = [s.strip() for s in setting.split(",") if s.strip()]
    if not chosen:
        raise SettingError(f"rungs: no rung named; give some of {', '.join(names)}, or auto")
    unknown = [s for s in chosen if s not in names]
    if unknown:
        raise SettingError(f"rungs: {unknown[0]!r} is not one of {', '.join(names)}")
    return chosen


def time_rung(shape: dict, s: dict, device: str, steps: int, warmup: int, seed: int, on_step) -> dict:
    """Train `warmup + steps` steps with settings `s`; the timed steps' figures."""
    import torch

    from labs.gpt import device as dev
    from labs.gpt.mfu import flops_per_token, mfu
    from labs.gpt.model import GPT, GPTConfig, fused_adamw_available

    dev.check_precision(device, s["dtype"])
    kind = dev.device_type(device)
    if s["fused_adamw"] and not fused_adamw_available(kind):
        raise SettingError(f"fused AdamW is not available for {kind}")
    dev.set_matmul_precision(s["matmul_precision"])
    gc.collect()  # the previous rung's model and optimizer, before the cache is emptied
    dev.reset_peak_memory(device)
    if s["compile"]:
        torch._dynamo.reset()  # each rung compiles its own model afresh (no cache limit hit)
    torch.manual_seed(seed)
    real_vocab = shape["vocab_size"]
    config = GPTConfig(
        n_layer=shape["n_layer"],
        n_head=shape["n_head"],
        n_embd=shape["n_embd"],
        block_size=shape["block_size"],
        vocab_size=padded(real_vocab, s["vocab_pad"]),
        real_vocab_size=real_vocab,
        attention=s["attention"],
    )
    model = GPT(config).to(device)
    optimizer = model.configure_optimizers(0.1, 6e-4, (0.9, 0.95), kind, fused=s["fused_adamw"])
    n_params = model.get_num_params()
    step_model = torch.compile(model) if s["compile"] else model
    B, T = shape["batch_size"], shape["block_size"]
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(real_vocab, (B, T), generator=gen).to(device)
    y = torch.randint(real_vocab, (B, T), generator=gen).to(device)
    per_token = flops_per_token(n_params, config.n_layer, config.n_head, config.n_embd // config.n_head, T)
    peak = ladder_peak(dev.gpu_name(device))
    times, loss_value = [], None
    for i in range(warmup + steps):
        dev.synchronize(device)
        t0 = time.perf_counter()
        with dev.autocast(device, s["dtype"]):
            _, loss = step_model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = loss.item()
        dev.synchronize(device)
        dt = time.perf_counter() - t0
        if i >= warmup:
            times.append(dt)
        if on_step(i, warmup, dt, B * T, loss_value, mfu(B * T / dt, per_token, peak)):
            break  # stop requested
    if not times:
        return {"status": "stopped"}
    ms = 1000 * sorted(times)[len(times) // 2]  # the median: robust to a stray slow step
    tok_per_s = B * T / (ms / 1000)
    return {
        "status": "ok",
        "ms_per_step": ms,
        "tok_per_s": tok_per_s,
        "mfu": mfu(tok_per_s, per_token, peak),
        "loss": loss_value,
        "peak_mem_mb": dev.peak_memory_mb(device).get("gpu_mem_mb"),
    }


def ladder_shape(s: dict, kind: str) -> tuple[str, dict]:
    """The preset (auto: gpt2 on CUDA, tiny elsewhere) and the model/batch shape every rung times."""
    preset = s["preset"] or "auto"
    if preset == "auto":  # the manifest's choices are auto and the presets
        preset = "gpt2" if kind == "cuda" else "tiny"
    shape = {k: PRESETS[preset][k] for k in ("n_layer", "n_head", "n_embd", "block_size", "batch_size")}
    shape.update({k: s[k] for k in shape if s.get(k) is not None})
    shape["vocab_size"] = s["vocab_size"] or GPT2_VOCAB
    if shape["n_embd"] % shape["n_head"]:
        raise SettingError(f"n_embd ({shape['n_embd']}) must be divisible by n_head ({shape['n_head']})")
    return preset, shape


class StepReporter:
    """Emits every timed or warm-up step of the ladder as one `step` event, numbered across
    rungs; `for_rung` gives time_rung its callback with the rung's name bound at that moment
    (a closure over the loop variable would read whichever rung the loop had reached)."""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self.global_step = 0

    def for_rung(self, rung: str):
        def on_step(i, warm, dt, tokens, loss, utilization) -> bool:
            self.global_step += 1
            fields = dict(
                step=self.global_step,
                loss=loss,
                dt_ms=dt * 1000,
                tok_per_s=tokens / dt,
                rung=rung,
                warmup=i < warm,
            )
            if utilization is not None and i >= warm:  # a warm-up step (compiling) has no MFU
                fields["mfu"] = utilization
            self.ctx.emit("step", **fields)
            return self.ctx.stop_requested

        return on_step


def empty_row(rung: Rung) -> dict:
    return {
        "rung": rung.name,
        "change": rung.change,
        "status": "skipped",
        "ms_per_step": None,
        "tok_per_s": None,
        "mfu": None,
        "speedup_prev": None,
        "speedup_fp32": None,
        "loss": None,
        "peak_mem_mb": None,
    }


def run_rung(
    rung: Rung, settings: dict, shape: dict, device: str, steps: int, warmup: int, seed: int, on_step
) -> dict:
    """One rung's row; a rung that cannot run here is a row that says why, not an abort."""
    row = empty_row(rung)
    try:
        row.update(time_rung(shape, settings, device, steps, warmup, seed, on_step))
    except SettingError as e:
        row["status"] = f"skipped: {e}"
    except Exception as e:  # e.g. compile without a C compiler: report, go on  # noqa: BLE001
        row["status"] = f"failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    return row


def add_speedups(results: list[dict]) -> None:
    """Each ok row against the previous ok row and against fp32 (when fp32 ran)."""
    previous = first = None
    for row in results:
        if not ran(row):
            continue
        if previous is not None:
            row["speedup_prev"] = row["tok_per_s"] / previous
        if row["rung"] == "fp32":
            first = row["tok_per_s"]
        if first is not None:
            row["speedup_fp32"] = row["tok_per_s"] / first
        previous = row["tok_per_s"]


def ladder_summary(results: list[dict]) -> dict:
    done = [r for r in results if ran(r)]
    summary = {"rungs_run": len(done)}
    if done:
        summary["tok_per_s"] = done[-1]["tok_per_s"]
        summary["best_rung"] = max(done, key=lambda r: r["tok_per_s"])["rung"]
        if done[-1]["speedup_fp32"] is not None:
            summary["speedup_fp32"] = done[-1]["speedup_fp32"]
    return summary


def main(argv: list[str] | None = None) -> int:
    with RunContext.from_argv(LAB, argv) as ctx:
        s = ctx.settings
        import torch

        from labs.gpt import device as dev

        device = dev.pick_device(s["device"])
        kind = dev.device_type(device)
        preset, shape = ladder_shape(s, kind)
        dev.use_device(device)
        # 20 timed steps on CUDA: a median of few steps moves with clocks and other tenants
        steps = s["steps"] or (20 if kind == "cuda" else 5)
        warmup = s["warmup_steps"] if s["warmup_steps"] is not None else (3 if kind == "cuda" else 1)
        chosen = choose_rungs(s["rungs"], kind)
        missing = missing_prerequisites(device)
        ctx.start(
            config={
                "preset": preset,
                **shape,
                "steps": steps,
                "warmup_steps": warmup,
                "rungs": chosen,
                "device": device,
                "seed": s["seed"],
            },
            device=dev.describe(device),
            total=len(chosen),
            torch=torch.__version__,
            cuda=torch.version.cuda or "none",
        )
        for name in chosen:
            if name in missing:
                ctx.emit("log", message=f"rung {name} skipped: {missing[name]}")
        reporter = StepReporter(ctx)
        results, stopped = climb(chosen, missing, shape, device, steps, warmup, s["seed"], ctx, reporter)
        add_speedups(results)
        write_json_atomic(ctx.path("ladder.json"), results)
        ctx.emit("table", name="ladder", columns=COLUMNS, rows=[_table_row(r) for r in results])
        ctx.end("stopped" if stopped else "done", ladder_summary(results))
    return 0


def climb(
    chosen: list[str],
    missing: dict[str, str],
    shape: dict,
    device: str,
    steps: int,
    warmup: int,
    seed: int,
    ctx: RunContext,
    reporter: StepReporter,
) -> tuple[list[dict], bool]:
    """Run the chosen rungs in order, each on top of the changes that ran before it; a rung
    skipped or failed leaves its change out of the rungs after it. (rows, stopped)"""
    results: list[dict] = []
    current, stopped, dropped = dict(BASE), False, []
    for done, rung in enumerate(RUNGS):
        stopped = stopped or ctx.stop_requested
        if rung.name not in chosen or stopped:
            results.append(empty_row(rung))
            continue
        if rung.name in missing:
            row = empty_row(rung)
            row["status"] = f"skipped: {missing[rung.name]}"
            results.append(row)
            dropped.append(rung.name)
            continue
        ctx.emit("log", message=f"rung {rung.name}: {rung.change}")
        trial = {**current, **rung.setting}
        row = run_rung(rung, trial, shape, device, steps, warmup, seed, reporter.for_rung(rung.name))
        if row["status"] == "ok":
            current = trial
            if dropped:
                row["status"] = f"ok (without {', '.join(dropped)})"
        elif row["status"] != "stopped":
            dropped.append(rung.name)
            row["status"] += "; later rungs run without this change"
        results.append(row)
        ctx.emit("progress", done=done + 1, total=len(RUNGS), rate=None, unit="rungs", eta_s=None)
        stopped = row["status"] == "stopped" or ctx.stop_requested
    return results, stopped


def ran(row: dict) -> bool:
    return row["status"].startswith("ok")


def _table_row(r: dict) -> list:
    def num(v, digits):
        return None if v is None else round(v, digits)

    return [
        r["rung"],
        r["change"],
        num(r["ms_per_step"], 1),
        num(r["tok_per_s"], 0),
        num(r["speedup_prev"], 2),
        num(r["speedup_fp32"], 2),
        num(r["mfu"], 3),
        num(r.get("peak_mem_mb"), 0),
        r["status"],
    ]


if __name__ == "__main__":
    raise SystemExit(main())
