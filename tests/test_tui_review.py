"""Pilot tests of the review screen at 80x24: prompt, reveal, grade, undo, summary; nothing due; ASCII.

Cards are added an hour in the past, so they are due under the real clock the app's screen uses.
"""

from __future__ import annotations

import datetime as dt

from test_tui_fixtures import TODAY, home, make_session, sample_curriculum, screen_text, sync, until  # noqa: F401

from studytui import review
from studytui.curriculum.model import Curriculum, Term
from studytui.tui.app import build_app
from studytui.tui.glyphs import UNICODE
from studytui.tui.screens.review import ReviewScreen
from studytui.tui.widgets.heatmap import REVIEW_STYLES, Heatmap, heatmap_text

SIZE = (80, 24)
AN_HOUR_AGO = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)


def desk(session, **kw):
    return build_app(session, today=lambda: TODAY, poll_s=None, watch_runs=False, **kw)


async def open_review(app, pilot) -> ReviewScreen:
    await until(pilot, lambda: app.loaded)
    await pilot.press("V")
    await until(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.phase is not None)
    await pilot.pause()
    return app.screen


def with_cards(home, *terms: str, curriculum: Curriculum | None = None):
    s = make_session(home, curriculum)
    cur = s.load_result.curriculum
    review.set_directions(s.store, "forward", AN_HOUR_AGO)
    for term in terms:
        review.add_term(s.store, cur, term, AN_HOUR_AGO)
    return s


@sync
async def test_reveal_grade_and_summary(home):
    s = with_cards(home, "bpe", "attention")
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_review(app, pilot)
        assert screen.phase == "prompt"
        first = screen.queue[0]
        text = screen_text(app)
        assert "2 due" in text and first.term in text
        assert first.answer[:30] not in text  # hidden until space
        await pilot.press("3")  # no grading before the reveal
        assert screen.phase == "prompt" and s.store.card(first.term_id, "forward")["last_review"] is None
        await pilot.press("space")
        text = screen_text(app)
        assert screen.phase == "answer" and first.answer[:30] in text
        assert "1  Again <" in text and "4  Easy <" in text  # the intervals before grading
        await pilot.press("3")
        assert s.store.card(first.term_id, "forward")["last_review"] is not None
        assert screen.phase == "prompt" and screen.queue[0].term_id != first.term_id
        await pilot.press("space", "1")
        await pilot.pause()
        assert screen.phase == "summary"
        text = screen_text(app)
        assert "2 review(s) of 2 card(s)" in text and "Again 1" in text and "Good 1" in text
        assert "next card due in" in text
        await pilot.press("escape")
        await until(pilot, lambda: app.current_mode == "desk")


@sync
async def test_undo_brings_the_card_back_and_suspend_drops_it(home):
    s = with_cards(home, "bpe", "attention")
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_review(app, pilot)
        first = screen.queue[0]
        await pilot.press("space", "4")
        assert s.store.card(first.term_id, "forward")["last_review"] is not None
        await pilot.press("u")
        assert s.store.card(first.term_id, "forward")["last_review"] is None
        assert screen.phase == "prompt" and screen.queue[0].term_id == first.term_id
        assert screen.results == []
        await pilot.press("f")
        assert s.store.card(first.term_id, "forward")["flagged"]
        assert "flagged" in screen_text(app)
        await pilot.press("s")  # suspended: the other card is next
        assert s.store.card(first.term_id, "forward")["suspended"]
        assert screen.queue[0].term_id != first.term_id
        await pilot.press("escape")  # nothing graded: straight back
        await until(pilot, lambda: app.current_mode == "desk")


@sync
async def test_nothing_due_says_when_the_next_card_comes(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(app, pilot)
        text = screen_text(app)
        assert "Nothing due." in text and "Your deck is empty" in text
    s = with_cards(home, "bpe")
    review.grade(s.store, "bpe", "forward", "easy", AN_HOUR_AGO)  # easy: due in days
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(app, pilot)
        text = screen_text(app)
        assert "Nothing due." in text and "The next card is due in " in text and "d." in text


@sync
async def test_marking_an_item_done_in_the_desk_adds_its_terms(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        app.set_status("llm/tokenizer", "done")
        assert {(c["term"], c["direction"]) for c in s.store.cards()} >= {("bpe", "forward")}
        screen = await open_review(app, pilot)
        assert screen.phase == "prompt" and screen.queue[0].term_id == "bpe"


@sync
async def test_ascii_and_hostile_card_text(home, monkeypatch):
    monkeypatch.setenv("STUDYTUI_ASCII", "1")
    hostile = Term(
        "evil",
        "Evil [bold red]term[/]\x1b]52;c;aGk=\x07",
        "Defined \x1b[2J as \u202ebidi [link=x]y[/link]",
        aliases=(),
    )
    base = sample_curriculum()
    cur = Curriculum.build(list(base.courses), [*base.terms, hostile])
    s = with_cards(home, "evil", curriculum=cur)
    review.set_directions(s.store, "both", AN_HOUR_AGO)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(app, pilot)
        await pilot.press("space")
        text = screen_text(app)
        assert "term -> definition" in text
        assert "[bold red]term[/]" in text  # shown as typed, never as markup
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
        # The screen's own lines are ASCII (the card text shows controls as pictures: safetext).
        own = [
            line
            for line in text.splitlines()
            if "->" in line or "Again <" in line or "esc: end" in line or line.strip().startswith("---")
        ]
        assert len(own) == 4 and all(line.isascii() for line in own), own
        await pilot.press("f")
        assert "! flagged" in screen_text(app)


@sync
async def test_desk_counts_cards_due_and_tells_review_days_apart(home):
    s = with_cards(home, "bpe", "attention")
    app = build_app(s, today=dt.date.today, poll_s=None, watch_runs=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.pause()
        assert "2 cards due today: V" in screen_text(app)
        screen = await open_review(app, pilot)
        await pilot.press("space", "4", "space", "4")  # easy: both leave today's count
        assert screen.phase == "summary"
        await pilot.press("escape")
        await until(pilot, lambda: app.current_mode == "desk")
        await pilot.pause()
        assert "due today" not in screen_text(app)
        heat = app.screen.query_one(Heatmap).content
        assert any(str(span.style) in REVIEW_STYLES for span in heat.spans)  # today: reviews only


def test_heatmap_draws_review_only_days_in_their_own_style():
    days = {TODAY: 2, TODAY - dt.timedelta(days=1): 2}
    plain_map = heatmap_text(days, TODAY, 2, UNICODE)
    split_map = heatmap_text(days, TODAY, 2, UNICODE, review_only={TODAY})
    assert plain_map.plain == split_map.plain  # the same glyphs (ASCII twins hold)
    assert [str(s.style) for s in split_map.spans].count(REVIEW_STYLES[4]) == 1
    assert REVIEW_STYLES[4] not in [str(s.style) for s in plain_map.spans]


@sync
async def test_glossary_learn_this_term(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        app.show_term("attention")
        await until(pilot, lambda: getattr(app.screen, "term_id", None) == "attention")
        await pilot.pause()
        assert "in your review deck" not in screen_text(app)
        await pilot.press("a")
        assert [c["direction"] for c in s.store.cards("attention")] == ["forward", "reverse"]
        await pilot.pause()
        assert "in your review deck" in screen_text(app)
        await pilot.press("a")  # again: nothing new, said so
        assert len(s.store.cards("attention")) == 2


@sync
async def test_typing_a_capital_v_in_a_text_field_stays_there(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("g")
        await until(pilot, lambda: app.current_mode == "glossary")
        await pilot.press("slash", "V")
        assert app.current_mode == "glossary" and app.screen.query_one("#term-filter").value == "V"
