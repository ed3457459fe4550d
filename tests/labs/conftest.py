"""Lab tests run tiny models: one thread each, in this process and in the labs it starts.

Under `pytest -n 2` on a shared 2-core machine, torch's default (a thread per core in every
worker) oversubscribes the cores and a tiny model's step runs ~20x slower. The lab
processes the tests start inherit OMP_NUM_THREADS, so in-process and subprocess runs use
the same thread count and sum in the same order (resume tests compare losses exactly).
"""

import os
import sysconfig
from pathlib import Path

import pytest

os.environ["OMP_NUM_THREADS"] = "1"

import torch

torch.set_num_threads(1)

STDLIB = Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh STUDYTUI_HOME with its runs folder (where resume=RUN and run:ID look)."""
    monkeypatch.setenv("STUDYTUI_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "runs").mkdir(parents=True)
    return tmp_path / "home"


@pytest.fixture(scope="module")
def text_file(tmp_path_factory) -> Path:
    """~10 kB of real text (textwrap.py) for the GPT lab's tiny runs."""
    path = tmp_path_factory.mktemp("gptdata") / "text.txt"
    path.write_text((STDLIB / "textwrap.py").read_text(encoding="utf-8"), encoding="utf-8")
    return path
