"""Arbitrary text through every CLI renderer and the markdown export (hypothesis).

Whatever a field holds (markup, escapes, bidi, C1, lone surrogates, huge strings), the
output must not crash, must hold no terminal control byte of its own making, and a
terminal hyperlink's visible text must be its target.
"""

from __future__ import annotations

import io
import re

from hostile import HOSTILE_STRINGS, assert_terminal_safe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from studytui.cli import render
from studytui.cli.common import error_line
from studytui.curriculum.model import Course, Curriculum, Item, Link, Section, Term
from studytui.export_md import checklist
from studytui.safetext import json_text
from studytui.search import Hit as SearchHit
from studytui.study import course_summaries

# Characters that make trouble, mixed with ordinary text.
nasty = st.sampled_from(
    list("\x1b\x07\x00\x7f\x9b\x9d\u202e\u2066\u2069\ud800\udcff[]/\\=;\n\t\r")
    + ["[/]", "[link=file:///etc/passwd]", "[/link]", "\x1b]8;;", "\x1b\\", "[bold"]
)
text = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.lists(st.one_of(nasty, st.text(max_size=8)), max_size=12).map("".join),
    st.text(),
)
big = st.integers(1, 5).map(lambda n: "[/]\x1b]0;x\x07" * (2_000 * n))

SGR = re.compile(r"\x1b\[[0-9;]*m")
OSC8 = re.compile(r"\x1b\]8;([^;\x1b\x07]*);([^\x1b\x07]*)\x1b\\")
CLOSE = "\x1b]8;;\x1b\\"


def _consoles():
    plain_out, term_out = io.StringIO(), io.StringIO()
    return (
        Console(file=plain_out, width=100, color_system=None),
        plain_out,
        Console(file=term_out, width=100, force_terminal=True, color_system="truecolor"),
        term_out,
    )


def _link_texts(raw: str) -> dict[tuple[str, str], str]:
    """{(link id, target): visible text}; a link wrapped over lines comes in pieces that
    share one id, joined here."""
    texts: dict[tuple[str, str], str] = {}
    for m in OSC8.finditer(raw):
        params, target = m.groups()
        if not target:
            continue  # a closing OSC 8
        close = raw.find(CLOSE, m.end())
        assert close != -1, "an OSC 8 link is never closed"
        piece = SGR.sub("", raw[m.end() : close]).strip()
        texts[(params, target)] = texts.get((params, target), "") + piece
    return texts


def _check_terminal_output(raw: str) -> None:
    """Rich's own SGR styling and OSC 8 links are allowed; nothing else, and every link's
    visible text is exactly its target."""
    for (_, target), visible in _link_texts(raw).items():
        assert target.startswith(("http://", "https://")), target
        assert visible == target, (visible, target)
    stripped = OSC8.sub("", SGR.sub("", raw))
    assert_terminal_safe(stripped, "terminal output")


def _item(title, url, summary, extra, children=()):
    return Item(
        course_id="c",
        id="i",
        title=title,
        url=url,
        summary=summary,
        tags=(extra, title),
        links=(Link(extra, url or "https://x.example"), Link(title, extra)),
        terms=("t",),
        prerequisites=(extra,),
        children=children,
        duration_s=60,
        lab=extra,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=text, url=st.one_of(st.none(), text, st.just("https://ok.example/a?b=1")), summary=text, extra=text
)
def test_item_renderers(title, url, summary, extra):
    child = Item(course_id="c", id="k", title=extra, duration_s=30, parent_key="c/i")
    item = _item(title, url, summary, extra, (child,))
    term = Term(
        id="t",
        term=title,
        definition=summary,
        aliases=(extra,),
        links=(Link(title, extra),),
        see_also=(extra,),
    )
    course = Course(id="c", title=title, sections=(Section("s", extra, summary, (item,)),))
    cur = Curriculum.build([course], [term])
    doc = render.item_json(item, "doing") | {
        "note": summary,
        "seconds_logged": 60,
        "history": [],
        "children": ["c/k"],
    }
    progress = {"c/i": "doing", extra: "done"}
    summaries = course_summaries(cur, progress, {"c/i": 60})
    hit = SearchHit(kind="item", key=extra, title=title, score=1.0, snippet=summary)
    rows = [
        {
            "id": 1,
            "url": url or extra,
            "title": title,
            "kind": extra,
            "tags": [extra, title],
            "status": "course",
            "course": extra,
        }
    ]
    for console, out in (_consoles()[:2], _consoles()[2:]):
        console.print(render.item_line(item, "doing"))
        render.item_detail(console, item, doc, cur)
        render.term_detail(console, term, cur)
        render.glossary_table(console, cur.terms)
        render.search_hits(console, [hit])
        render.reading_table(console, rows)
        render.status_table(console, summaries, [extra, title], 3, 60)
        _check_terminal_output(out.getvalue())
    assert_terminal_safe(checklist(cur, _FakeStore({"c/i": summary, extra: title})), "markdown export")
    assert_terminal_safe(json_text(doc), "json")


class _FakeStore:
    def __init__(self, notes):
        self._notes = notes

    def progress(self):
        return {}

    def notes(self):
        return self._notes

    def time_by_key(self):
        return {}

    def runs(self, lab=None):  # hostile run rows too (ids and statuses from a copied folder)
        return [{"id": v, "status": v, "dir": None} for v in self._notes.values()]


@settings(max_examples=40, deadline=None)
@given(message=st.one_of(text, big))
def test_error_lines(message):
    import contextlib

    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):  # the CLI's stderr console writes to sys.stderr
        error_line(message)
    err = buffer.getvalue()
    assert_terminal_safe(err, "error line")
    assert err.startswith("error: ")


def test_a_spoofed_link_title_never_becomes_the_visible_text():
    item = Item(
        course_id="c",
        id="i",
        title="t",
        url="https://good.example/",
        links=(Link("https://good.example", "https://evil.example/steal"),),
    )
    console, _, term, out = _consoles()
    doc = render.item_json(item, "todo") | {"note": "", "seconds_logged": 0, "history": [], "children": []}
    render.item_detail(term, item, doc, Curriculum.build([], []))
    raw = out.getvalue()
    targets = [target for _, target in _link_texts(raw)]
    assert targets == ["https://good.example/", "https://evil.example/steal"]
    _check_terminal_output(raw)


def test_a_markdown_link_in_a_summary_is_not_a_terminal_link():
    item = Item(
        course_id="c",
        id="i",
        title="t",
        summary="[https://good.example](https://evil.example/steal) and <https://x.example>",
    )
    _, _, term, out = _consoles()
    doc = render.item_json(item, "todo") | {"note": "", "seconds_logged": 0, "history": [], "children": []}
    render.item_detail(term, item, doc, Curriculum.build([], []))
    raw = out.getvalue()
    assert not [target for _, target in _link_texts(raw) if "evil" in target]
    assert "https://evil.example/steal" in SGR.sub("", raw)  # shown, so the reader sees where it goes
