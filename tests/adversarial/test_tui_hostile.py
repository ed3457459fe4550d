"""Hostile text through every screen of the desk (Pilot): nothing crashes, nothing a terminal
acts on reaches it, markup shows as written, and links show their own target.

The curriculum is built in code, as a loader that missed a check (or an older cache) would
hand it over; the database rows come from the shared `hostile_home` fixture; the run folder
is one copied from a box nobody trusts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from test_tui_fixtures import TODAY, FixedLoad, sync, until

from studytui.curriculum.model import Course, Curriculum, Item, Link, Section, Term
from studytui.session import Session
from studytui.tui.app import build_app
from studytui.tui.glyphs import ASCII, UNICODE
from studytui.tui.screens.help import HelpScreen
from studytui.tui.screens.run_view import RunScreen
from studytui.tui.screens.token_viewer import coloured_tokens
from studytui.tui.widgets.run_panels import result_table

SIZE = (120, 40)
FAKE_LABS = Path(__file__).parents[1] / "fixtures" / "labs"
ESC_TITLE = "\x1b]0;pwned\x07"
SPOOF = "[link=file:///etc/passwd]x[/link]"
BIDI = "invoice\u202eexe.pdf"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HOSTILE = [ESC_TITLE, "\x1b[2J\x1b[H", "\x9b31m", BIDI, "[/]", SPOOF, "[bold", "prompt=a[i]", "\x07\x08\x7f"]


def hostile_curriculum() -> Curriculum:
    c = "evil"
    item = Item(
        course_id=c,
        id="markup",
        title=f"{SPOOF} {ESC_TITLE} prompt=a[i]",
        section_id="s",
        kind="video",
        url="https://example.org/[x]",
        summary="\n".join(HOSTILE),
        links=(Link(f"[/] {BIDI}", "file:///etc/passwd"), Link("ok", "https://ok.example/a")),
        terms=("t",),
        lab="fake",
        by="[/]",
        date="\x1b[31m",
    )
    other = Item(course_id=c, id="other", title="[/]", section_id="s", kind="post")
    course = Course(
        c,
        f"[bold]{ESC_TITLE}",
        "[/] summary",
        order=1,
        sections=(Section("s", f"{BIDI} [/]", "\x1b[2J", (item, other)),),
    )
    term = Term(
        "t",
        f"term {SPOOF}",
        "\n".join(HOSTILE),
        aliases=("[/]", ESC_TITLE),
        links=(Link(SPOOF, "javascript:alert(1)"),),
        see_also=("missing[/]",),
    )
    return Curriculum.build([course], [term])


def write_hostile_run(home) -> str:
    run_id = "fake-20260101-000000-evil"
    run = home / "runs" / run_id
    run.mkdir(parents=True)
    (run / "config.json").write_text(
        json.dumps(
            {
                "lab": "fake",
                "run_id": run_id,
                "settings": {"[/]": "a[i]", "note": ESC_TITLE},
                "resolved": {SPOOF: BIDI, "prompt": "prompt=a[i]"},
            }
        )
    )
    t = 1767225600.0
    events = [
        {"event": "start", "t": t, "pid": 1, "device": f"cpu {ESC_TITLE}[/]", "total": 3},
        {"event": "log", "t": t, "message": f"{SPOOF} \x1b[2J {BIDI}"},
        {"event": "step", "t": t + 1, "step": 1, "loss": 3.0, "tok_per_s": 100.0},
        {"event": "progress", "t": t + 1, "done": 1, "total": 3, "unit": "[/]\x1b[31m"},
        {
            "event": "sample",
            "t": t + 1,
            "step": 1,
            "prompt": "prompt=a[i]",
            "text": f"prompt=a[i]{ESC_TITLE}\n[/]",
        },
        {"event": "sample", "t": t + 1, "step": 1, "prompt": 5, "text": None},
        {
            "event": "merges",
            "t": t + 1,
            "merges": [
                {"rank": "[/]", "pair": [ESC_TITLE, 1], "token": SPOOF, "text": BIDI, "count": "\x1b[2J"}
            ],
        },
        {
            "event": "table",
            "t": t + 2,
            "name": f"{SPOOF}{ESC_TITLE}",
            "columns": ["[/]", BIDI],
            "rows": [["a[i]", ESC_TITLE, "extra [bold"], "[/]", [None]],
        },
        {"event": "table", "t": t + 2, "name": "ladder", "columns": "not a list", "rows": {"x": 1}},
        {"event": "end", "t": t + 3, "status": "done", "summary": {"note": ESC_TITLE}},
    ]
    (run / "metrics.jsonl").write_text(
        "".join(json.dumps({"v": 1, **e}) + "\n" for e in events) + "not json \x1b[2J\n"
    )
    (run / "stderr.log").write_text(f"{ESC_TITLE}\n")
    return run_id


def shown(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def links_shown(app) -> list[tuple[str, str]]:
    """(link target, text it is on) for every hyperlinked run of cells on screen."""
    found = []
    for strip in app.screen._compositor.render_strips():
        current, text = None, ""
        for segment in list(strip) + [None]:
            target = segment.style.link if segment is not None and segment.style else None
            if target != current and current:
                found.append((current, text))
                text = ""
            if target:
                text += segment.text
            current = target
    return found


def assert_safe(app, where: str) -> str:
    text = shown(app)
    bad = UNSAFE.search(text)
    assert bad is None, (
        f"{where}: {bad.group()!r} reached the screen: {text[max(0, bad.start() - 60) : bad.start() + 60]!r}"
    )
    for target, label in links_shown(app):
        assert target.startswith(("http://", "https://")), f"{where}: a link to {target!r}"
        assert label.strip() and label.strip() in target, (
            f"{where}: link text {label!r} is not its target {target!r}"
        )
    return text


@sync
async def test_every_screen_shows_hostile_text_as_data(hostile_home, monkeypatch):
    monkeypatch.setenv("STUDYTUI_LABS_PATH", str(FAKE_LABS))
    session = Session(home=hostile_home)
    session.__dict__["load_result"] = FixedLoad(hostile_curriculum())
    run_id = write_hostile_run(hostile_home)
    app = build_app(session, today=lambda: TODAY, poll_s=None, watch_runs=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.pause()
        assert_safe(app, "desk")
        app.show_item("evil/markup")
        await until(pilot, lambda: getattr(app.screen, "current", None) == "evil/markup")
        await pilot.pause()
        text = assert_safe(app, "curriculum")
        assert "prompt=a[i]" in text and "[link=file:///etc/passwd]x[/link]" in text
        assert "␛]0;pwned␇" in text  # shown, not acted on
        app.show_term("t")
        await until(pilot, lambda: getattr(app.screen, "term_id", None) == "t")
        await pilot.pause()
        text = assert_safe(app, "glossary")
        assert "term [link=file:///etc/passwd]x[/link]" in text
        for mode in ("reading", "labs"):
            await pilot.press(mode[0])
            await until(pilot, lambda mode=mode: app.current_mode == mode)
            await pilot.pause()
            assert_safe(app, mode)
        await until(pilot, lambda: app.run_monitor.rows is not None)
        await pilot.pause()
        assert_safe(app, "labs with a hostile run")
        app.push_screen(RunScreen(session, run_id))
        view = app.screen
        # A finished run with result tables opens on its tables; v shows the chart and panels.
        await until(pilot, lambda: isinstance(view, RunScreen) and view.has_class("-results"))
        await pilot.pause()
        text = assert_safe(app, "run view, results")
        assert "a[i]" in text and "[/]" in text
        await pilot.press("v")
        await until(pilot, lambda: not view.has_class("-results"))
        await pilot.pause()
        text = assert_safe(app, "run view")
        assert "prompt=a[i]" in text
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert_safe(app, "help")
        await pilot.press("escape", "q")
    assert app.return_code == 0


@settings(max_examples=60, deadline=None)
@given(
    st.text(max_size=60),
    st.lists(st.text(max_size=20), max_size=4),
    st.lists(
        st.lists(
            st.one_of(st.text(max_size=20), st.none(), st.floats(allow_nan=True), st.integers()), max_size=5
        ),
        max_size=4,
    ),
)
def test_result_tables_render_any_text_safely(name, columns, rows):
    console = Console(width=100, record=True, file=None, force_terminal=False, color_system=None)
    with console.capture():
        console.print(result_table(name, {"columns": columns, "rows": rows}, UNICODE))
    out = console.export_text()
    assert UNSAFE.search(out) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=8))
def test_token_viewer_shows_any_bytes_safely(pieces):
    for g in (UNICODE, ASCII):
        assert UNSAFE.search(coloured_tokens(pieces, g).plain) is None
