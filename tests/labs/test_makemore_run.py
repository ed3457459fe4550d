"""The makemore lab as runs: each model's events, the files it leaves, bad settings, and
the bigram net reaching the counting model's loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from labs.makemore.run import main

TINY_MLP = (
    "model=mlp",
    "steps=30",
    "n_embd=4",
    "n_hidden=16",
    "eval_interval=10",
    "sample_interval=10",
    "diag_interval=10",
    "num_samples=5",
)


def run_lab(out: Path, *sets: str) -> tuple[Path, list[dict]]:
    args = ["--out", str(out)]
    for s in sets:
        args += ["--set", s]
    main(args)
    (run_dir,) = list(out.iterdir())
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return run_dir, [json.loads(line) for line in lines]


def of(evs: list[dict], event: str, **match) -> list[dict]:
    return [e for e in evs if e["event"] == event and all(e.get(k) == v for k, v in match.items())]


def test_bigram_counts_by_default(tmp_path):
    run_dir, evs = run_lab(tmp_path)
    assert evs[0]["config"]["model"] == "bigram-counts"
    (heatmap,) = of(evs, "visual", kind="heatmap")
    assert heatmap["row_labels"][:3] == [".", "a", "b"] and len(heatmap["values"]) == 27
    assert heatmap["values"][0][1] == 4410 and all(len(row) == 27 for row in heatmap["values"])
    assert any(e["message"].startswith("bigram counts N") for e in of(evs, "log"))
    (sample,) = of(evs, "sample")
    assert len(sample["names"]) == 20 and sample["text"] == ", ".join(sample["names"])
    (result,) = of(evs, "table", name="result")
    assert result["rows"] == [["bigram-counts", "loss over all names", 2.4546, 2.454]]
    end = evs[-1]
    assert end["event"] == "end" and end["status"] == "done" and round(end["summary"]["figure"], 4) == 2.4546
    saved = torch.load(run_dir / "model.pt", weights_only=True)
    assert int(saved["N"].sum()) == 228146


def test_a_tiny_mlp_run(tmp_path):
    run_dir, evs = run_lab(tmp_path, *TINY_MLP)
    steps = of(evs, "step")
    assert [e["step"] for e in steps] == list(range(1, 31))
    assert steps[0]["loss"] > steps[-1]["loss"] > 0
    assert steps[0]["lr"] == 0.1 and steps[-1]["lr"] == pytest.approx(0.01)  # a tenth after half the steps
    assert [e["step"] for e in of(evs, "eval")] == [10, 20, 30]
    assert all(e["val_loss"] > 0 and e["train_loss"] > 0 for e in of(evs, "eval"))
    assert [e["step"] for e in of(evs, "sample")] == [10, 20, 30]
    acts = of(evs, "visual", kind="histograms", name="activations")
    assert [e["step"] for e in acts] == [1, 10, 20, 30]
    layer = acts[0]["layers"][0]
    assert layer["name"] == "tanh 1" and sum(layer["counts"]) == 32 * 16 and 0 <= layer["saturated"] <= 1
    grads = of(evs, "visual", kind="histograms", name="gradients")[0]["layers"]
    assert grads[0]["std"] > 0
    ratios = of(evs, "visual", kind="series", name="update_to_data")[0]["values"]
    assert set(ratios) == {"C", "W1", "W2"} and all(-8 < r < 2 for r in ratios.values())
    summary = evs[-1]["summary"]
    assert (
        summary["model"] == "mlp" and summary["figure"] == summary["val_loss"] and summary["lecture"] == 2.17
    )
    assert summary["parameters"] == 27 * 4 + 12 * 16 + 16 + 16 * 27 + 27
    params = torch.load(run_dir / "model.pt", weights_only=True)["params"]
    assert [tuple(p.shape) for p in params] == [(27, 4), (12, 16), (16,), (16, 27), (27,)]


def test_a_tiny_wavenet_run(tmp_path):
    _, evs = run_lab(
        tmp_path,
        "model=wavenet",
        "steps=12",
        "block_size=4",
        "n_embd=4",
        "n_hidden=8",
        "eval_interval=6",
        "diag_interval=6",
        "num_samples=3",
    )
    assert evs[0]["config"]["lr_decay_step"] == 9  # three quarters of the steps, as part 5
    assert [e["step"] for e in of(evs, "eval")] == [6, 12]
    acts = of(evs, "visual", kind="histograms", name="activations")[-1]["layers"]
    assert [a["name"] for a in acts] == ["tanh 1", "tanh 2"]
    assert set(of(evs, "visual", kind="series")[0]["values"]) == {
        "embedding",
        "linear 1",
        "linear 2",
        "linear 3",
    }
    assert len(of(evs, "sample")[-1]["names"]) == 3
    assert evs[-1]["status"] == "done" and evs[-1]["summary"]["steps"] == 12


def test_a_tiny_bigram_net_run(tmp_path):
    _, evs = run_lab(tmp_path, "model=bigram-nn", "steps=3", "sample_interval=2", "num_samples=4")
    assert [e["step"] for e in of(evs, "step")] == [1, 2, 3]
    assert of(evs, "visual", kind="heatmap")[0]["name"] == "bigram_probabilities"
    assert [e["step"] for e in of(evs, "sample")] == [2, 3]
    assert not of(evs, "eval")  # part 1 has no held-out set


def test_your_own_words(tmp_path):
    data = tmp_path / "words.txt"
    data.write_text("anna\nbob\nkayak\n" * 10, encoding="utf-8")
    _, evs = run_lab(tmp_path / "runs", f"data={data}")
    assert evs[0]["config"]["words"] == 30 and evs[0]["config"]["vocab_size"] == 7  # . a b k n o y
    assert len(of(evs, "visual", kind="heatmap")[0]["values"]) == 7


@pytest.mark.parametrize(
    "sets, message",
    [
        (("model=wavenet", "block_size=6"), "power of 2"),
        (("model=transformer",), "model: 'transformer' is not one of"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(tmp_path, capsys, sets, message):
    with pytest.raises(SystemExit) as exc:
        run_lab(tmp_path, *sets)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


@pytest.mark.slow
def test_the_bigram_net_reaches_the_counting_models_loss(tmp_path):
    """Part 1: 100 full-batch steps at learning rate 50 bring the NLL to <= 2.48 (the
    counts give 2.4546). About 6 s of CPU."""
    _, evs = run_lab(tmp_path, "model=bigram-nn", "steps=100", "sample_interval=0")
    assert evs[-1]["summary"]["figure"] <= 2.48


@pytest.mark.slow
def test_sigterm_stops_between_steps_and_saves(tmp_path):
    """`studytui lab stop` sends SIGTERM: the run ends "stopped", with its model saved."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "labs.makemore.run", "--out", str(tmp_path), "--set", "model=mlp"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        metrics = None
        while time.monotonic() < deadline:
            found = list(tmp_path.glob("*/metrics.jsonl"))
            if found and '"event": "step"' in found[0].read_text(encoding="utf-8"):
                metrics = found[0]
                break
            time.sleep(0.1)
        assert metrics is not None, "no step within 60 s"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    end = json.loads(metrics.read_text(encoding="utf-8").splitlines()[-1])
    assert end["event"] == "end" and end["status"] == "stopped" and 0 < end["summary"]["steps"] < 200_000
    assert (metrics.parent / "model.pt").is_file()
