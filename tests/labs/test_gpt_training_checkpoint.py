"""Checkpoints are data, never code: a planted pickle never runs, a foreign or damaged file is
one line and exit 2, and our own checkpoints hold only what a weights-only load accepts."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import pytest
import torch

from labs.gpt.run import main
from tests.labs.test_gpt_run import events, new_run, run_inline, tiny_settings


class Payload:
    """Unpickling this opens (so creates) the marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def refused(home: Path, settings: dict) -> str:
    """Run the lab, expect exit 2; the error event's message."""
    run_dir = new_run(home, settings)
    with pytest.raises(SystemExit) as exit_info:
        main([str(run_dir)])
    assert exit_info.value.code == 2
    (error,) = events(run_dir, "error")
    assert "\n" not in error["message"]
    return error["message"]


@pytest.mark.parametrize("write", ["torch.save", "plain pickle"])
@pytest.mark.parametrize("mode", ["sample", "train"])
def test_a_planted_pickle_never_runs(home, tmp_path, text_file, write, mode):
    marker = tmp_path / "code-ran"
    planted = tmp_path / "ckpt.pt"
    # every key a checkpoint has, so only the payload can make the load refuse it
    contents = {
        "model": {"w": torch.zeros(1)},
        "model_config": {},
        "config": {"x": Payload(marker)},
        "tokenizer": {"kind": "char", "chars": "ab"},
    }
    if write == "torch.save":
        torch.save(contents, planted)
    else:
        planted.write_bytes(pickle.dumps(contents))
    settings = (
        {"mode": "sample", "checkpoint": str(planted)}
        if mode == "sample"
        else tiny_settings(text_file, resume=str(planted))
    )
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        message = refused(home, settings)
    assert not marker.exists()
    assert not [
        str(w.message) for w in warned if issubclass(w.category, UserWarning)
    ]  # one line, no torch warning
    assert str(planted) in message


def test_a_damaged_checkpoint_is_one_line(home, text_file):
    """Our keys, but a weight of the wrong shape (an edited or mixed-up file)."""
    trained = run_inline(home, tiny_settings(text_file, max_iters=1))
    ckpt = torch.load(trained / "ckpt.pt", weights_only=True)
    ckpt["model"]["transformer.wte.weight"] = torch.zeros(3, 3)
    torch.save(ckpt, trained / "ckpt.pt")
    message = refused(home, {"mode": "sample", "resume": trained.name})
    assert "is damaged or from another version" in message


def test_a_truncated_checkpoint_is_one_line(home, text_file):
    trained = run_inline(home, tiny_settings(text_file, max_iters=1))
    data = (trained / "ckpt.pt").read_bytes()
    (trained / "ckpt.pt").write_bytes(data[: len(data) // 2])
    assert "cannot read checkpoint" in refused(home, {"mode": "sample", "resume": trained.name})


def test_our_checkpoint_is_tensors_and_plain_data(home, text_file):
    """Everything a resume needs loads under weights_only, random states as uint8 tensors."""
    trained = run_inline(home, tiny_settings(text_file, max_iters=2, sample_interval=2, max_new_tokens=2))
    ckpt = torch.load(trained / "ckpt.pt", weights_only=True)
    assert ckpt["step"] == 2 and ckpt["config"]["n_embd"] == 32
    for key in ("data_rng", "torch_rng", "sample_rng"):
        assert isinstance(ckpt[key], torch.Tensor) and ckpt[key].dtype == torch.uint8

    def plain(value) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, (str, int)) and plain(v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (str, int, float, bool, torch.Tensor))

    assert plain(ckpt)
