"""The review deck's SQL (studytui.store.review_sql) through the calls the app and CLI make:
what a card added with only its schedule looks like, marks on a missing card, the log row
undo hands back, settings read back or hand-edited, and the activity split by local day on
a learner's clock that is not UTC. Written from the mutation run's survivors."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from studytui import review
from studytui.store import Store
from studytui.store import store as store_module
from studytui.store.review_sql import SCHEDULE_COLUMNS, utc_iso

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "studytui.db")
    yield s
    s.close()


@pytest.fixture
def india(local_zone):
    """The learner's machine on UTC+05:30."""
    local_zone("IST-5:30")


def _hand_edit(store: Store, sql: str, params: tuple = ()) -> None:
    """Change the database file the way a learner with the sqlite3 shell would."""
    with sqlite3.connect(store.path) as db:
        db.execute(sql, params)
    db.close()


def _deck(store: Store, *terms: str, now: dt.datetime = T0) -> None:
    store.add_cards(review.new_cards(terms, review.DIRECTIONS, now))


# -- time text ----------------------------------------------------------------------------------
def test_utc_iso_is_utc_with_microseconds_even_on_a_whole_second_and_a_local_clock(india):
    assert utc_iso(T0.astimezone(IST)) == "2026-03-02T09:00:00.000000+00:00"
    assert utc_iso(T0.replace(microsecond=5)) == "2026-03-02T09:00:00.000005+00:00"


def test_a_grade_is_logged_in_utc_text_whatever_the_local_clock(india, store):
    _deck(store, "attention")
    review.grade(store, "attention", "forward", "good", T0.astimezone(IST))
    assert [e["reviewed_at"] for e in store.review_log()] == ["2026-03-02T09:00:00.000000+00:00"]


# -- cards ------------------------------------------------------------------------------------
def test_a_card_given_only_its_schedule_gets_the_defaults_and_is_due(store):
    bare = {
        "term": "attention",
        "direction": "forward",
        "state": 1,
        "step": 0,
        "due": utc_iso(T0),
        "added_at": utc_iso(T0),
        "added_by": "hand",
    }
    other = {**bare, "term": "bigram"}
    assert store.add_cards([bare, other]) == [("attention", "forward"), ("bigram", "forward")]
    assert store.card("attention", "forward") == {
        **bare,
        "stability": None,
        "difficulty": None,
        "last_review": None,
        "suspended": 0,
        "flagged": 0,
    }
    assert [r["term"] for r in store.due_card_rows(T0, ["forward"])] == ["attention", "bigram"]
    # Adding it again changes nothing and reports nothing new.
    assert store.add_cards([{**bare, "due": utc_iso(T0 + dt.timedelta(days=9))}]) == []
    assert store.card("attention", "forward")["due"] == utc_iso(T0)


def test_a_card_not_in_the_deck_is_none_and_grading_it_says_how_to_add_it(store):
    _deck(store, "attention")
    assert store.card("bigram", "forward") is None
    with pytest.raises(
        review.ReviewError, match=r"not in your review deck; add it with `studytui review add"
    ):
        review.grade(store, "bigram", "forward", "good", T0)


def test_marks_without_a_change_only_say_whether_the_card_exists(store):
    _deck(store, "attention")
    assert store.set_card_marks("attention", "forward") is True
    assert store.set_card_marks("attention", "reverse") is True
    assert store.set_card_marks("bigram", "forward") is False
    assert store.card("attention", "forward")["suspended"] == 0


def test_suspend_and_flag_together_then_both_off(store):
    _deck(store, "attention")
    assert store.set_card_marks("attention", "forward", suspended=True, flagged=True) is True
    card = store.card("attention", "forward")
    assert (card["suspended"], card["flagged"]) == (1, 1)
    assert [r["direction"] for r in store.due_card_rows(T0, review.DIRECTIONS)] == ["reverse"]
    assert store.set_card_marks("attention", "forward", suspended=False, flagged=False) is True
    card = store.card("attention", "forward")
    assert (card["suspended"], card["flagged"]) == (0, 0)


def test_marking_a_card_that_is_not_there_is_a_one_line_error(store):
    _deck(store, "attention")
    assert store.set_card_marks("bigram", "forward", suspended=True) is False
    assert store.set_card_marks("bigram", "forward", flagged=False) is False
    with pytest.raises(review.ReviewError, match=r"^no review card 'bigram' \(forward\)$"):
        review.suspend(store, "bigram", "forward")
    with pytest.raises(review.ReviewError, match=r"^no review card 'bigram' \(reverse\)$"):
        review.flag(store, "bigram", "reverse")


# -- grading and undo -------------------------------------------------------------------------
def test_a_grade_saved_without_a_source_is_logged_as_the_cli(store):
    _deck(store, "attention")
    before = {c: store.card("attention", "forward")[c] for c in SCHEDULE_COLUMNS}
    after = {**before, "due": utc_iso(T0 + dt.timedelta(minutes=10)), "last_review": utc_iso(T0)}
    log_id = store.record_review("attention", "forward", before, after, 3, T0)
    assert store.review_log() == [
        {
            "id": log_id,
            "term": "attention",
            "direction": "forward",
            "rating": 3,
            "reviewed_at": utc_iso(T0),
            "duration_ms": None,
            "before": json.dumps(before),
            "source": "cli",
        }
    ]
    assert {c: store.card("attention", "forward")[c] for c in SCHEDULE_COLUMNS} == after


def test_undo_hands_back_the_log_row_with_the_schedule_it_restored(store):
    _deck(store, "attention")
    first = review.grade(store, "attention", "forward", "good", T0)
    review.grade(store, "attention", "forward", "again", first.due, duration_ms=1200, source="tui")
    logged = store.review_log()[-1]
    entry = store.undo_review()
    assert entry == {**logged, "before": json.loads(logged["before"])}
    assert entry["before"] == {c: store.card("attention", "forward")[c] for c in SCHEDULE_COLUMNS}
    assert [e["id"] for e in store.review_log()] == [first.log_id]


# -- settings ---------------------------------------------------------------------------------
def test_a_setting_reads_back_what_was_saved_and_its_default_when_absent(store):
    assert store.setting("directions") is None
    assert store.setting("directions", "both") == "both"
    store.set_setting("directions", "forward")
    assert store.setting("directions", "both") == "forward"
    store.set_setting("directions", {"kept": [1, "two"]})  # saving again replaces it
    assert store.setting("directions") == {"kept": [1, "two"]}
    assert store.setting("other", 7) == 7


def test_a_hand_edited_setting_that_is_not_json_gives_the_default(store):
    store.set_setting("directions", "forward")
    _hand_edit(store, "UPDATE settings SET value = 'forward' WHERE key = 'directions'")
    assert store.setting("directions", "both") == "both"
    assert review.enabled_directions(store) == review.DIRECTIONS


def test_a_setting_saved_with_cards_adds_them_in_the_same_step(store):
    store.set_setting("directions", "both", cards=review.new_cards(["attention"], ["reverse"], T0))
    assert [(c["term"], c["direction"]) for c in store.cards()] == [("attention", "reverse")]


# -- activity ---------------------------------------------------------------------------------
def _study_at(monkeypatch, store: Store, at: str) -> None:
    """One study event (a time entry) written at `at` by the store's clock."""
    monkeypatch.setattr(store_module, "now_iso", lambda: at)
    store.log_time("basics/micrograd", 60)


def _grade_at(store: Store, term: str, at: dt.datetime) -> None:
    card = store.card(term, "forward")
    before = {c: card[c] for c in SCHEDULE_COLUMNS}
    assert store.record_review(term, "forward", before, {**before, "last_review": utc_iso(at)}, 3, at)


def test_activity_split_counts_by_local_day_from_local_midnight(india, monkeypatch, store):
    _deck(store, "attention", now=dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc))
    utc = dt.timezone.utc
    # The oldest grade is hand-edited into text no clock wrote: it is skipped, not fatal.
    _grade_at(store, "attention", dt.datetime(2026, 3, 1, 9, tzinfo=utc))
    _hand_edit(store, "UPDATE review_log SET reviewed_at = '2026-03-01 by hand' WHERE id = 1")
    _grade_at(store, "attention", dt.datetime(2026, 2, 28, 18, 29, 59, tzinfo=utc))  # 23:59:59 local
    _grade_at(store, "attention", dt.datetime(2026, 3, 1, 10, tzinfo=utc))
    _grade_at(store, "attention", dt.datetime(2026, 3, 1, 11, tzinfo=utc))
    _grade_at(store, "attention", dt.datetime(2026, 3, 7, 20, tzinfo=utc))  # 8 March, 01:30 local
    _study_at(monkeypatch, store, "2026-02-28T18:00:00+00:00")  # 23:30 local, the day before
    _study_at(monkeypatch, store, "2026-02-28T20:00:00+00:00")  # 1 March, 01:30 local
    assert store.activity_split(7, today=dt.date(2026, 3, 8)) == {
        dt.date(2026, 3, 1): {"study": 1, "review": 2},
        dt.date(2026, 3, 8): {"study": 0, "review": 1},
    }


def test_activity_split_covers_twelve_weeks_unless_told(store):
    _deck(store, "attention", now=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    today = dt.date(2026, 6, 1)
    first_day, day_before = today - dt.timedelta(days=84), today - dt.timedelta(days=85)
    _grade_at(store, "attention", dt.datetime.combine(day_before, dt.time(23)).astimezone())
    _grade_at(store, "attention", dt.datetime.combine(first_day, dt.time(1)).astimezone())
    assert store.activity_split(today=today) == {first_day: {"study": 0, "review": 1}}
