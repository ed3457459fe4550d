"""Shared fixtures for the desk's tests: a small fixed curriculum and a temporary home.

The curriculum is built in code (no YAML loader needed) and handed to the Session the
way the loader would; every test gets its own STUDYTUI_HOME.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from dataclasses import dataclass, field

import pytest

from studytui.curriculum.model import Course, Curriculum, Item, Link, Section, Term
from studytui.session import Session

TODAY = dt.date(2025, 3, 14)  # a Friday; the heatmap and streak end here in every test


@dataclass
class FixedLoad:
    curriculum: Curriculum
    problems: list = field(default_factory=list)


def _item(course, section, id, title, **kw) -> Item:
    return Item(course_id=course, id=id, title=title, section_id=section, **kw)


def sample_curriculum() -> Curriculum:
    c = "llm"
    kids = tuple(
        _item(
            c,
            "videos",
            f"zth-{n}",
            f"Zero to Hero part {n}",
            kind="video",
            duration_s=3600 + 600 * n,
            parent_key=f"{c}/zero-to-hero",
        )
        for n in (1, 2, 3)
    )
    videos = Section(
        "videos",
        "Karpathy videos",
        "The talks and the **Zero to Hero** series.",
        (
            _item(
                c,
                "videos",
                "intro",
                "Intro to Large Language Models",
                kind="video",
                url="https://www.youtube.com/watch?v=zjkBMFhNj_g",
                duration_s=3600,
                links=(Link("Slides", "https://example.org/slides.pdf"),),
                summary="A one-hour *overview* of what LLMs are and how they are trained.",
                terms=("pretraining", "bpe"),
            ),
            _item(
                c,
                "videos",
                "zero-to-hero",
                "Neural Networks: Zero to Hero",
                kind="playlist",
                children=kids,
                summary="Build GPT from scratch, step by step.",
            ),
            _item(
                c,
                "videos",
                "tokenizer",
                "Let's build the GPT Tokenizer",
                kind="video",
                url="https://www.youtube.com/watch?v=zduSFxRajkE",
                duration_s=2 * 3600 + 13 * 60,
                terms=("bpe",),
                lab="tokenizer",
                prerequisites=(f"{c}/intro",),
            ),
        ),
    )
    papers = Section(
        "papers",
        "Papers",
        "",
        (
            _item(
                c,
                "papers",
                "attention",
                "Attention Is All You Need",
                kind="paper",
                url="https://arxiv.org/abs/1706.03762",
                duration_s=5400,
                terms=("attention",),
                date="2017",
                by="Vaswani et al.",
            ),
        ),
    )
    gpt = Course(
        "llm", "LLM Study", "Videos and papers for learning **LLMs**.", order=10, sections=(videos, papers)
    )
    g = "gpu"
    ladder = Course(
        "gpu",
        "GPT-2 speed-up ladder",
        "From fp32 to flash attention.",
        order=20,
        sections=(
            Section(
                "ladder",
                "The ladder",
                "",
                (
                    _item(g, "ladder", "tf32", "TF32 matmuls", kind="topic", duration_s=1200),
                    _item(g, "ladder", "bf16", "bf16 autocast", kind="topic", duration_s=1200),
                    _item(
                        g,
                        "ladder",
                        "flash",
                        "Flash attention",
                        kind="topic",
                        duration_s=1800,
                        terms=("attention",),
                    ),
                ),
            ),
        ),
    )
    terms = [
        Term(
            "bpe",
            "Byte-pair encoding (BPE)",
            "Merges the most frequent pair of tokens, again and again.",
            aliases=("BPE", "byte pair encoding"),
            links=(Link("minbpe", "https://github.com/karpathy/minbpe"),),
            see_also=("tokenization",),
        ),
        Term("tokenization", "Tokenization", "Cutting text into the units a model reads.", see_also=("bpe",)),
        Term("pretraining", "Pretraining", "Training on a large corpus to predict the next token."),
        Term(
            "attention",
            "Attention",
            "Each position mixes the values of others, weighted by similarity.",
            aliases=("self-attention",),
        ),
    ]
    return Curriculum.build([gpt, ladder], terms)


def make_session(home, curriculum: Curriculum | None = None) -> Session:
    session = Session(home=home)
    session.__dict__["load_result"] = FixedLoad(curriculum or sample_curriculum())
    return session


def seed_history(session: Session, today: dt.date = TODAY) -> None:
    """Fixed progress and a fixed event history (timestamps are written, not 'now')."""
    store = session.store
    store.set_status("llm/intro", "done", source="test")
    store.set_status("llm/zth-1", "done", source="test")
    store.set_status("llm/zth-2", "doing", source="test")
    store.set_status("gpu/tf32", "skipped", source="test")
    store.log_time("llm/intro", 3000, source="test")
    store.set_note("llm/intro", "Watch again at 1.5x.", source="test")
    # Rewrite the history's timestamps to fixed days so the heatmap and streak are stable.
    conn = store.conn
    ids = [r[0] for r in conn.execute("SELECT id FROM events ORDER BY id")]
    offsets = [0, 0, 1, 2, 4, 9]
    for event_id, back in zip(ids, offsets):
        at = dt.datetime.combine(today - dt.timedelta(days=back), dt.time(12)).astimezone()
        conn.execute(
            "UPDATE events SET at = ? WHERE id = ?",
            (at.astimezone(dt.timezone.utc).isoformat(timespec="seconds"), event_id),
        )


def sync(coro_fn):
    """Run an async test without a pytest async plugin (the project has none)."""

    @functools.wraps(coro_fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(coro_fn(*args, **kwargs))

    return wrapper


async def until(pilot, predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting in the UI"
        await pilot.pause(0.02)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("STUDYTUI_HOME", str(home))
    monkeypatch.delenv("STUDYTUI_ASCII", raising=False)
    monkeypatch.delenv("STUDYTUI_CURRICULUM", raising=False)
    return home


def screen_text(app) -> str:
    """What the terminal shows now, as plain text (one line per row)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
