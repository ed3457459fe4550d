"""The GPT lab as a run: events, resume, stop, kill -9, sampling, bad settings, DDP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labs.gpt.run import main

ROOT = Path(__file__).resolve().parents[2]


def tiny_settings(text_file: Path, **kw) -> dict:
    return {
        "tokenizer": "char",
        "data": str(text_file),
        "n_layer": 2,
        "n_head": 2,
        "n_embd": 32,
        "block_size": 32,
        "batch_size": 4,
        "max_iters": 8,
        "eval_interval": 1000,
        "eval_iters": 1,
        "sample_interval": 0,
        "checkpoint_interval": 0,
        "learning_rate": 3e-3,
        "device": "cpu",
        **kw,
    }


_counter = iter(range(10**6))


def new_run(home: Path, settings: dict) -> Path:
    """A run folder as studytui makes it. On the CPU unless a test names a device: these tests
    compare losses exactly, which only the CPU promises (tests marked `gpu` use tolerances)."""
    run_id = f"gpt-20250101-000000-{next(_counter):04x}"
    run_dir = home / "runs" / run_id
    run_dir.mkdir()
    settings = {"device": "cpu", **settings}
    (run_dir / "config.json").write_text(json.dumps({"lab": "gpt", "run_id": run_id, "settings": settings}))
    return run_dir


def run_inline(home: Path, settings: dict) -> Path:
    run_dir = new_run(home, settings)
    assert main([str(run_dir)]) == 0
    return run_dir


def events(run_dir: Path, name: str | None = None) -> list[dict]:
    evs = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    return [e for e in evs if name is None or e["event"] == name]


def losses(run_dir: Path) -> dict[int, float]:
    return {e["step"]: e["loss"] for e in events(run_dir, "step")}


def lab_env(home: Path) -> dict:
    # the same thread count as this process: a different one sums in another order (1e-7 apart)
    return {**os.environ, "PYTHONPATH": str(ROOT), "STUDYTUI_HOME": str(home)}


def test_a_run_end_to_end(home, text_file):
    run_dir = run_inline(
        home,
        tiny_settings(
            text_file, eval_interval=4, sample_interval=4, max_new_tokens=10, checkpoint_interval=4
        ),
    )
    evs = events(run_dir)
    names = [e["event"] for e in evs]
    assert names[0] == "start" and names[-1] == "end" and evs[-1]["status"] == "done"
    resolved = json.loads((run_dir / "config.json").read_text())["resolved"]
    for key in ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "vocab_size", "learning_rate"):
        assert key in resolved
    assert resolved["n_embd"] == 32 and resolved["vocab_size"] == len(set(text_file.read_text()))
    steps = events(run_dir, "step")
    assert [s["step"] for s in steps] == list(range(1, 9))
    for s in steps:
        assert {"loss", "lr", "grad_norm", "dt_ms", "tok_per_s"} <= set(s)
        assert "mfu" not in s and "gpu_mem_mb" not in s  # a CPU: no MFU rather than a wrong one
    assert steps[-1]["loss"] < steps[0]["loss"]
    assert [e["step"] for e in events(run_dir, "eval")] == [4, 8]
    samples = events(run_dir, "sample")
    assert [s["step"] for s in samples] == [4, 8] and all(len(s["text"]) == 10 for s in samples)
    assert [c["step"] for c in events(run_dir, "checkpoint")] == [4, 8]
    assert (run_dir / "ckpt.pt").is_file()
    assert evs[-1]["summary"]["steps"] == 8


def test_warmup_then_cosine_decay(home, text_file):
    run_dir = run_inline(
        home, tiny_settings(text_file, max_iters=10, warmup_iters=4, learning_rate=1e-2, min_lr=1e-3)
    )
    lrs = [e["lr"] for e in events(run_dir, "step")]
    assert lrs[:4] == pytest.approx([2.5e-3, 5e-3, 7.5e-3, 1e-2])
    assert all(a >= b - 1e-12 for a, b in zip(lrs[3:], lrs[4:]))
    assert 1e-3 < lrs[-1] < lrs[4] / 2


def test_lr_schedule_reaches_min_lr_at_lr_decay_iters():
    from labs.gpt.config import TrainConfig
    from labs.gpt.train import get_lr

    cfg = TrainConfig(learning_rate=1.0, min_lr=0.1, warmup_iters=10, lr_decay_iters=110)
    assert get_lr(0, cfg) == pytest.approx(0.1)
    assert get_lr(60, cfg) == pytest.approx(0.55)  # half way: cos(pi/2) = 0
    assert get_lr(110, cfg) == pytest.approx(0.1) and get_lr(500, cfg) == 0.1


def test_gradient_accumulation_reaches_the_total_batch(home, text_file):
    run_dir = run_inline(home, tiny_settings(text_file, max_iters=2, total_batch_size=4 * 32 * 3))
    resolved = json.loads((run_dir / "config.json").read_text())["resolved"]
    assert resolved["gradient_accumulation_steps"] == 3
    assert events(run_dir, "step")[0]["tok_per_s"] > 0


def test_the_same_seed_repeats_exactly(home, text_file):
    a = losses(run_inline(home, tiny_settings(text_file, max_iters=4)))
    b = losses(run_inline(home, tiny_settings(text_file, max_iters=4)))
    c = losses(run_inline(home, tiny_settings(text_file, max_iters=4, seed=7)))
    assert a == b and a != c


def test_resume_reproduces_an_unbroken_run(home, text_file):
    unbroken = losses(
        run_inline(
            home, tiny_settings(text_file, max_iters=10, lr_decay_iters=10, warmup_iters=2, dropout=0.1)
        )
    )
    first = run_inline(
        home, tiny_settings(text_file, max_iters=5, lr_decay_iters=10, warmup_iters=2, dropout=0.1)
    )
    resumed = run_inline(home, {"resume": first.name, "max_iters": 10})
    assert [e["step"] for e in events(resumed, "step")] == list(range(6, 11))
    assert {**losses(first), **losses(resumed)} == unbroken  # exactly, dropout included


def test_resume_refuses_a_changed_model(home, text_file):
    first = run_inline(home, tiny_settings(text_file, max_iters=2))
    run_dir = new_run(home, {"resume": first.name, "n_layer": 3})
    with pytest.raises(SystemExit) as exit_info:
        main([str(run_dir)])
    assert exit_info.value.code == 2
    assert "n_layer comes from the checkpoint" in events(run_dir, "error")[0]["message"]


def test_sampling_from_a_checkpoint_repeats_with_a_seed(home, text_file):
    trained = run_inline(home, tiny_settings(text_file, max_iters=3))
    texts = []
    for seed in (5, 5, 6):
        run_dir = run_inline(
            home,
            {
                "mode": "sample",
                "resume": trained.name,
                "seed": seed,
                "prompt": "def ",
                "max_new_tokens": 30,
                "num_samples": 2,
            },
        )
        samples = events(run_dir, "sample")
        assert len(samples) == 2 and samples[0]["prompt"] == "def " and samples[0]["step"] == 3
        assert events(run_dir)[-1]["event"] == "end"
        texts.append([s["text"] for s in samples])
    assert texts[0] == texts[1] and texts[0] != texts[2]
    by_path = run_inline(
        home,
        {
            "mode": "sample",
            "checkpoint": str(trained / "ckpt.pt"),
            "seed": 5,
            "prompt": "def ",
            "max_new_tokens": 30,
            "num_samples": 2,
        },
    )
    assert [s["text"] for s in events(by_path, "sample")] == texts[0]


@pytest.mark.parametrize(
    "sets, message",
    [
        (["n_embd=33", "n_head=2"], "n_embd (33) must be divisible by n_head (2)"),
        (["mode=sample"], "mode=sample needs resume=RUN"),
        (["preset=huge"], "preset"),
        (["vocab_pad=lots"], "vocab_pad"),
    ],
)
def test_bad_settings_fail_fast_with_one_line(tmp_path, sets, message):
    args = [sys.executable, "-m", "labs.gpt.run", "--out", str(tmp_path)]
    for s in sets:
        args += ["--set", s]
    proc = subprocess.run(args, cwd=ROOT, env=lab_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"total_batch_size": 100}, "must be a multiple of batch_size * block_size"),
        ({"dtype": "fp16"}, "fp16 needs a CUDA GPU"),
        ({"tokenizer": "nonsense"}, "not gpt2, char"),
        ({"vocab_size": 10}, "smaller than the tokenizer's"),
        ({"block_size": 100_000}, "fewer than block_size + 2"),
        ({"prompt": "€", "sample_interval": 1}, "not in this char tokenizer's vocabulary"),
        ({"vocab_size": 2**40}, "does not fit in cpu's memory"),  # 140 TB of embeddings: refused at once
    ],
)
def test_settings_refused_before_training(home, text_file, extra, message):
    run_dir = new_run(home, tiny_settings(text_file, **extra))
    with pytest.raises(SystemExit) as exit_info:
        main([str(run_dir)])
    assert exit_info.value.code == 2
    assert message in events(run_dir, "error")[0]["message"]
    assert not events(run_dir, "step")


def test_a_file_that_is_not_our_checkpoint_is_refused(home, tmp_path):
    import torch

    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    run_dir = new_run(home, {"mode": "sample", "checkpoint": str(tmp_path / "other.pt")})
    with pytest.raises(SystemExit) as exit_info:
        main([str(run_dir)])
    assert exit_info.value.code == 2
    assert "is not a checkpoint of the GPT lab" in events(run_dir, "error")[0]["message"]


def test_data_with_no_text_is_refused_every_time(home, tmp_path):
    """Nothing readable must not leave an empty token cache that the next run trips over."""
    folder = tmp_path / "blobs"
    folder.mkdir()
    (folder / "a.dat").write_bytes(bytes(range(256)))
    (folder / "b.dat").write_bytes(b"\xff\xfe" * 100)
    for _ in range(2):
        run_dir = new_run(home, tiny_settings(folder, tokenizer="gpt2"))
        with pytest.raises(SystemExit) as exit_info:
            main([str(run_dir)])
        assert exit_info.value.code == 2
        assert "no UTF-8 text found" in events(run_dir, "error")[0]["message"]


def _wait_for(run_dir: Path, name: str, proc: subprocess.Popen, timeout: float = 300) -> dict:
    # generous: on a loaded 2-core machine a niced lab takes a minute just to import torch;
    # the wait ends as soon as the event is there
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (run_dir / "metrics.jsonl").exists():
            found = [e for e in events_complete(run_dir) if e["event"] == name]
            if found:
                return found[0]
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "exited"
        time.sleep(0.05)
    raise AssertionError(f"no {name} event in {timeout} s")


def events_complete(run_dir: Path) -> list[dict]:
    text = (run_dir / "metrics.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


def start_process(home: Path, settings: dict) -> tuple[Path, subprocess.Popen]:
    run_dir = new_run(home, settings)
    proc = subprocess.Popen(
        [sys.executable, "-m", "labs.gpt.run", str(run_dir)],
        cwd=ROOT,
        env=lab_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return run_dir, proc


@pytest.mark.slow
def test_sigterm_saves_and_ends_stopped(home, text_file):
    run_dir, proc = start_process(home, tiny_settings(text_file, max_iters=100_000))
    _wait_for(run_dir, "step", proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    evs = events(run_dir)
    assert evs[-1]["event"] == "end" and evs[-1]["status"] == "stopped"
    assert evs[-2]["event"] == "checkpoint" and evs[-2]["step"] == evs[-1]["summary"]["steps"]


def checkpoint_step(run_dir: Path) -> int:
    """The step of the checkpoint on disk (loaded as a resume would: tensors and plain data only)."""
    import torch

    return torch.load(run_dir / "ckpt.pt", map_location="cpu", weights_only=True)["step"]


@pytest.mark.slow
def test_kill_9_then_resume(home, text_file):
    """Whenever the kill lands, the run resumes from the checkpoint on disk and then agrees with
    an unbroken run. The kill comes after the first checkpoint event; how far the run got by
    then varies with the machine's load, so the resumed run's length is set from the checkpoint
    that survived (its step + 4), never from a guess about timing."""
    settings = tiny_settings(
        text_file, max_iters=100_000, lr_decay_iters=1000, warmup_iters=5, checkpoint_interval=3, dropout=0.1
    )
    run_dir, proc = start_process(home, settings)
    _wait_for(run_dir, "checkpoint", proc)
    proc.kill()  # SIGKILL: no chance to save or to write `end`
    proc.wait(timeout=30)
    written = events_complete(run_dir)
    assert not [e for e in written if e["event"] in ("end", "error")]
    saved = checkpoint_step(run_dir)
    # the file is renamed into place before its event is written: it is never behind the events
    assert saved % 3 == 0 and saved >= max(e["step"] for e in written if e["event"] == "checkpoint")
    resumed = run_inline(home, {"resume": run_dir.name, "max_iters": saved + 4})
    assert [e["step"] for e in events(resumed, "step")] == list(range(saved + 1, saved + 5))
    assert events(resumed)[-1]["status"] == "done"
    unbroken = losses(run_inline(home, {**settings, "max_iters": saved + 4}))
    assert losses(resumed) == {
        s: loss for s, loss in unbroken.items() if s > saved
    }  # exactly, dropout included


@pytest.mark.slow
def test_ddp_two_processes_match_one(home, text_file):
    """gloo on CPU: 2 processes x 1 micro-batch = 1 process x 2 micro-batches."""
    settings = tiny_settings(text_file, max_iters=5, total_batch_size=2 * 4 * 32, device="cpu")
    single = losses(run_inline(home, settings))
    run_dir = new_run(home, {**settings, "nproc": 2})
    proc = subprocess.run(
        [sys.executable, "-m", "labs.gpt.run", str(run_dir)],
        cwd=ROOT,
        env=lab_env(home),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    evs = events(run_dir)
    assert [e["event"] for e in evs].count("start") == 1  # rank 0 alone writes
    assert evs[-1]["event"] == "end"
    resolved = json.loads((run_dir / "config.json").read_text())["resolved"]
    assert resolved["nproc"] == 2 and resolved["gradient_accumulation_steps"] == 1
    ddp = losses(run_dir)
    assert ddp.keys() == single.keys()
    assert all(abs(ddp[s] - single[s]) < 1e-5 for s in single)


@pytest.mark.slow
def test_ddp_refused_setting_is_one_line(home, tmp_path):
    """Both workers find the data too short: one line from rank 0, one error event, exit 2,
    and no launcher traceback."""
    short = tmp_path / "short.txt"
    short.write_text("hello")
    run_dir = new_run(home, tiny_settings(short, nproc=2, device="cpu"))
    proc = subprocess.run(
        [sys.executable, "-m", "labs.gpt.run", str(run_dir)],
        cwd=ROOT,
        env=lab_env(home),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "fewer than block_size + 2" in lines[0], proc.stderr[-2000:]
    assert [e["event"] for e in events(run_dir)] == ["error"]


def test_sampling_from_local_gpt2_weights(home, tmp_path):
    """mode=sample with init_from: greedy decoding gives transformers' own greedy continuation
    of the same local weights, token for token."""
    transformers = pytest.importorskip("transformers")
    import torch

    from labs.gpt.data import load_codec

    torch.manual_seed(0)
    # weights far larger than GPT-2's init (0.02): a continuation that depends on its context
    config = transformers.GPT2Config(
        n_layer=1, n_head=2, n_embd=16, n_positions=32, vocab_size=50257, initializer_range=0.5
    )
    hf = transformers.GPT2LMHeadModel(config).eval()
    hf.save_pretrained(tmp_path / "gpt2-random")
    run_dir = run_inline(
        home,
        {
            "mode": "sample",
            "init_from": str(tmp_path / "gpt2-random"),
            "tokenizer": "gpt2",
            "prompt": "Hello, world",
            "max_new_tokens": 8,
            "temperature": 0.0,
            "seed": 1,
        },
    )
    (sample,) = events(run_dir, "sample")
    codec = load_codec("gpt2")
    prompt_ids = codec.encode("Hello, world")
    with torch.no_grad():
        expected = hf.generate(
            torch.tensor([prompt_ids]), max_new_tokens=8, do_sample=False, pad_token_id=config.eos_token_id
        )[0, len(prompt_ids) :].tolist()
    assert len(expected) == 8 and len(set(expected)) > 1  # a real continuation, not one id repeated
    assert sample["prompt"] == "Hello, world" and sample["text"] == codec.decode(expected)
    resolved = json.loads((run_dir / "config.json").read_text())["resolved"]
    assert (resolved["n_layer"], resolved["n_embd"], resolved["vocab_size"]) == (1, 16, 50257)
