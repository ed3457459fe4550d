"""The tokenizer lab end to end, as a process: events, files, bad settings, and stopping."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from labs.tokenizer import load_tokenizer

ROOT = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"])


def lab_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def run_lab(out: Path, *sets: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "labs.tokenizer.run", "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    return subprocess.run(args, cwd=ROOT, env=lab_env(), capture_output=True, text=True, timeout=120)


def events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]


def only_run(out: Path) -> Path:
    (run_dir,) = list(out.iterdir())
    return run_dir


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "text.txt"
    path.write_text(
        (STDLIB / "textwrap.py").read_text(encoding="utf-8") * 2 + "\nnaïve café 你好 😀\n", encoding="utf-8"
    )
    return path


def test_a_run_end_to_end(tmp_path, data_file):
    proc = run_lab(tmp_path, "vocab_size=300", f"data={data_file}", "holdout=0.2")
    assert proc.returncode == 0, proc.stderr
    run_dir = only_run(tmp_path)
    evs = events(run_dir)
    names = [e["event"] for e in evs]
    assert names[0] == "start" and names[-1] == "end"
    assert all(e["v"] == 1 and isinstance(e["t"], float) for e in evs)
    start = evs[0]
    assert start["total"] == 44 and start["config"]["vocab_size"] == 300
    assert start["config"]["data"] == str(data_file)

    progress = [e for e in evs if e["event"] == "progress"]
    assert progress[-1]["done"] == progress[-1]["total"] == 44 and progress[-1]["unit"] == "merges"
    newest = [e for e in evs if e["event"] == "merges"][-1]["merges"]
    assert len(newest) == 20 and newest[-1]["rank"] == 43 and newest[-1]["token"] == 299
    assert all(set(m) == {"rank", "pair", "token", "text", "count"} for m in newest)
    assert [m["count"] for m in newest] == sorted((m["count"] for m in newest), reverse=True)

    tables = {e["name"]: e for e in evs if e["event"] == "table"}
    compression = tables["compression"]
    assert [r[0] for r in compression["rows"]] == ["trained (gpt4 split)", "gpt2", "cl100k_base"]
    assert all(r[3] > 1 for r in compression["rows"])
    speed = tables["encode_speed"]
    assert [r[0] for r in speed["rows"]] == [
        "python (ours)",
        "tiktoken export (ours)",
        "tiktoken gpt2",
        "tiktoken cl100k_base",
    ]
    assert speed["rows"][1][3] is True  # the export gives the Python encoder's ids

    end = evs[-1]
    assert end["status"] == "done"
    summary = end["summary"]
    assert summary["vocab_size"] == 300 and summary["merges"] == 44 and summary["merges_per_s"] > 0
    assert summary["bytes_per_token"] == compression["rows"][0][3]

    tok = load_tokenizer(run_dir / "tokenizer.model")
    assert tok.vocab_size == 300 and (run_dir / "tokenizer.vocab").exists()
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    assert config["resolved"]["vocab_size"] == 300


def test_started_by_studytui_from_a_run_folder(tmp_path, data_file):
    run_dir = tmp_path / "tokenizer-20250101-000000-abcd"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(
        json.dumps(
            {
                "lab": "tokenizer",
                "run_id": run_dir.name,
                "created": "2025-01-01T00:00:00",
                "settings": {"vocab_size": "260", "pattern": "none", "data": str(data_file)},
            }
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "labs.tokenizer.run", str(run_dir)],
        cwd=ROOT,
        env=lab_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    evs = events(run_dir)
    assert evs[-1]["event"] == "end" and evs[-1]["summary"]["merges"] == 4
    assert type(load_tokenizer(run_dir / "tokenizer.model")).__name__ == "BasicTokenizer"


@pytest.mark.parametrize(
    "setting, message",
    [
        ("pattern=gpt5", "pattern: 'gpt5' is not one of"),
        ("vocab_size=100", "below the minimum"),
        ("colour=red", "unknown setting 'colour'"),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, setting, message):
    proc = run_lab(tmp_path, setting)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_data_that_is_not_text_is_an_error_event(tmp_path):
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 10)
    out = tmp_path / "runs"
    proc = run_lab(out, f"data={binary}")
    assert proc.returncode == 2
    assert "not UTF-8 text" in proc.stderr and "Traceback" not in proc.stderr
    last = events(only_run(out))[-1]
    assert last["event"] == "error" and "not UTF-8 text" in last["message"]


def test_sigterm_stops_between_merges_and_saves(tmp_path, data_file):
    # the reference trainer on ~100 kB runs for minutes: plenty of time to stop it
    big = tmp_path / "big.txt"
    big.write_text(data_file.read_text(encoding="utf-8") * 3, encoding="utf-8")
    out = tmp_path / "runs"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labs.tokenizer.run",
            "--out",
            str(out),
            "--set",
            "trainer=reference",
            "--set",
            "vocab_size=5000",
            "--set",
            f"data={big}",
        ],
        cwd=ROOT,
        env=lab_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = list(out.iterdir()) if out.exists() else []
            metrics = runs[0] / "metrics.jsonl" if runs else None
            if metrics and metrics.exists() and '"progress"' in metrics.read_text(encoding="utf-8"):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the lab never reported progress")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    run_dir = only_run(out)
    end = events(run_dir)[-1]
    assert end["event"] == "end" and end["status"] == "stopped"
    merges = end["summary"]["merges"]
    assert 0 < merges < 5000 - 256
    tok = load_tokenizer(run_dir / "tokenizer.model")
    assert len(tok.merges) == merges
    assert not [e for e in events(run_dir) if e["event"] == "table"]
