"""The review deck (studytui.review) on a fixed clock: FSRS schedules, the deck growing as
items are finished, stable term ids, undo, directions, activity, export and restore."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from studytui import review
from studytui.session import Session
from studytui.store import Store, StoreError

FIXTURE = Path(__file__).parent / "fixtures" / "cli"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def sess(tmp_path):
    folder = tmp_path / "curriculum"
    shutil.copytree(FIXTURE, folder)
    s = Session(home=tmp_path / "home", extra_curriculum=[folder], builtin=False)
    yield s
    s.store.close()


def _grade_through(store, term, ratings, start=T0, direction="forward"):
    """Grade `term` once per rating, each at the moment it falls due; the intervals given."""
    now, intervals = start, []
    for rating in ratings:
        result = review.grade(store, term, direction, rating, now)
        intervals.append(result.interval)
        now = result.due
    return intervals, now


def test_intervals_grow_with_good_and_shrink_with_again(sess):
    store, cur = sess.store, sess.curriculum
    review.add_term(store, cur, "attention", T0)
    intervals, now = _grade_through(store, "attention", ["good"] * 6)
    # Two learning steps (10 minutes, then days), then each Good reaches further.
    assert intervals[0] == dt.timedelta(minutes=10)
    assert all(b > a for a, b in zip(intervals[1:], intervals[2:])), intervals
    assert intervals[-1] > dt.timedelta(days=60)
    lapse = review.grade(store, "attention", "forward", "again", now)
    assert lapse.state == "relearning" and lapse.interval == dt.timedelta(minutes=10)
    # Back in review after the lapse, the interval is far shorter than before it.
    back = review.grade(store, "attention", "forward", "good", lapse.due)
    assert back.state == "review" and back.interval < intervals[-1] / 4


def test_preview_shows_the_interval_each_grade_gives_without_saving(sess):
    store, cur = sess.store, sess.curriculum
    review.add_term(store, cur, "attention", T0)
    card = review.due_cards(store, cur, T0)[0]
    shown = review.preview(card, T0)
    assert list(shown) == ["again", "hard", "good", "easy"]
    assert shown["again"] < shown["hard"] < shown["good"] < shown["easy"]
    assert store.review_log() == []
    assert review.grade(store, "attention", "forward", "easy", T0).interval == shown["easy"]
    assert review.format_interval(shown["again"]) == "1m"


def test_naive_times_are_refused_fsrs_needs_utc(sess):
    review.add_term(sess.store, sess.curriculum, "attention", T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        review.grade(sess.store, "attention", "forward", "good", dt.datetime(2026, 3, 2, 9))
    # Any aware time is fine: it is turned into UTC for fsrs.
    paris = T0.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert review.grade(sess.store, "attention", "forward", "good", paris).due == T0 + dt.timedelta(
        minutes=10
    )


def test_finishing_a_teaching_item_adds_its_terms_both_directions(sess):
    store, cur = sess.store, sess.curriculum
    assert review.set_status(store, cur, "basics/micrograd", "doing", now=T0) == "todo"
    assert store.cards() == []  # only done teaches
    review.set_status(store, cur, "basics/micrograd", "done", now=T0)
    cards = store.cards()
    assert {(c["term"], c["direction"]) for c in cards} == {
        ("backpropagation", "forward"),
        ("backpropagation", "reverse"),
    }
    assert {c["added_by"] for c in cards} == {"basics/micrograd"}
    # A playlist marked done brings its videos' terms.
    review.set_status(store, cur, "basics/cs25", "done", now=T0)
    assert {c["term"] for c in store.cards()} == {"backpropagation", "attention"}
    due = review.due_cards(store, cur, T0)
    assert [(c.term_id, c.direction) for c in due][:2] == [("attention", "forward"), ("attention", "reverse")]
    reverse = next(c for c in due if c.direction == "reverse")
    assert reverse.prompt.startswith("A layer where") and reverse.answer == "Attention"


def test_marking_done_again_keeps_the_schedule(sess):
    store, cur = sess.store, sess.curriculum
    review.set_status(store, cur, "basics/micrograd", "done", now=T0)
    graded = review.grade(store, "backpropagation", "forward", "good", T0)
    review.set_status(store, cur, "basics/micrograd", "todo", now=T0)
    review.set_status(store, cur, "basics/micrograd", "done", now=T0 + dt.timedelta(hours=1))
    assert store.card("backpropagation", "forward")["due"] == graded.due.isoformat(timespec="microseconds")


def test_a_reworded_term_keeps_its_card(sess, tmp_path):
    store, cur = sess.store, sess.curriculum
    review.add_term(store, cur, "attention", T0)
    _, now = _grade_through(store, "attention", ["good", "good"])
    before = store.card("attention", "forward")
    glossary = tmp_path / "curriculum" / "glossary.yaml"
    text = glossary.read_text()
    glossary.write_text(
        text.replace("term: Attention", "term: Self-attention layer")
        .replace("aliases: [self-attention]", "aliases: [attn]")
        .replace("A layer where each position", "A layer in which every position")
    )
    sess.reload_curriculum()
    cur = sess.curriculum
    assert cur.terms_by_id["attention"].term == "Self-attention layer"
    assert store.card("attention", "forward") == before
    card = next(c for c in review.due_cards(store, cur, now) if c.direction == "forward")
    assert card.prompt == "Self-attention layer" and card.answer.startswith("A layer in which")
    assert review.resolve_term(cur, "attn").id == "attention"


def test_a_term_gone_from_the_glossary_is_kept_and_reported_not_asked(sess, tmp_path):
    store, cur = sess.store, sess.curriculum
    review.add_term(store, cur, "bigram", T0)
    glossary = tmp_path / "curriculum" / "glossary.yaml"
    text = glossary.read_text()
    glossary.write_text(
        text[: text.index("  - id: bigram")]
        + text[text.index("  - id: attention") :].replace("see_also: [bigram]", "")
    )
    (tmp_path / "curriculum" / "basics.yaml").write_text(
        (tmp_path / "curriculum" / "basics.yaml").read_text().replace("terms: [bigram]", "terms: []")
    )
    sess.reload_curriculum()
    assert "bigram" not in sess.curriculum.terms_by_id
    assert review.due_cards(store, sess.curriculum, T0) == []
    assert len(store.cards("bigram")) == 2
    assert review.stats(store, sess.curriculum, T0)["orphans"] == ["bigram"]


def test_undo_gives_back_the_schedule_before_the_grade(sess):
    store, cur = sess.store, sess.curriculum
    review.add_term(store, cur, "attention", T0)
    _, now = _grade_through(store, "attention", ["good", "good"])
    before = store.card("attention", "forward")
    review.grade(store, "attention", "forward", "again", now)
    assert store.card("attention", "forward") != before
    assert review.undo_last_grade(store) == {
        "term": "attention",
        "direction": "forward",
        "rating": "again",
        "reviewed_at": now.isoformat(timespec="microseconds"),
    }
    assert store.card("attention", "forward") == before
    assert len(store.review_log()) == 2


def test_a_grade_computed_from_a_stale_card_is_not_saved(sess):
    store, cur = sess.store, sess.curriculum
    review.add_term(store, cur, "attention", T0)
    stale = store.card("attention", "forward")
    review.grade(store, "attention", "forward", "good", T0)  # another window graded it
    assert store.record_review("attention", "forward", stale, stale, 3, T0) is None
    assert len(store.review_log()) == 1


def test_forward_only_hides_reverse_cards_and_both_brings_them_back(sess):
    store, cur = sess.store, sess.curriculum
    review.set_directions(store, "forward", T0)
    review.add_term(store, cur, "attention", T0)
    assert [c["direction"] for c in store.cards()] == ["forward"]
    review.set_directions(store, "both", T0)  # never made: made now, due now
    review.add_term(store, cur, "bigram", T0)
    review.set_directions(store, "forward", T0)
    assert {c.direction for c in review.due_cards(store, cur, T0)} == {"forward"}
    assert len(store.cards()) == 4  # kept, with their history, for when they come back
    assert review.set_directions(store, "both", T0) == 0
    assert len(review.due_cards(store, cur, T0)) == 4
    with pytest.raises(review.ReviewError, match="unknown directions"):
        review.set_directions(store, "reverse", T0)


def test_suspended_cards_are_not_due_and_pick_direction_explains(sess):
    store, cur = sess.store, sess.curriculum
    review.add_term(store, cur, "attention", T0)
    review.suspend(store, "attention", "forward")
    review.flag(store, "attention", "reverse")
    due = review.due_cards(store, cur, T0)
    assert [(c.direction, c.flagged) for c in due] == [("reverse", True)]
    assert review.pick_direction(store, "attention", T0) == "reverse"
    review.grade(store, "attention", "reverse", "good", T0)
    with pytest.raises(review.ReviewError, match="not due; next review 2026-03-02 09:10"):
        review.pick_direction(store, "attention", T0)
    assert review.pick_direction(store, "attention", T0, "forward") == "forward"
    with pytest.raises(review.ReviewError, match="not in your review deck"):
        review.pick_direction(store, "bigram", T0)


def test_stats_count_states_reviews_and_retention(sess):
    store, cur = sess.store, sess.curriculum
    review.add_term(store, cur, "attention", T0)
    review.add_term(store, cur, "bigram", T0)
    _, now = _grade_through(store, "attention", ["good", "good", "good", "again"])
    figures = review.stats(store, cur, now)
    assert figures["cards"] == 4
    assert figures["by_state"] == {"new": 3, "learning": 0, "review": 0, "relearning": 1}
    # Two reviews of a card in the review state: one recalled, one forgotten.
    assert (figures["retention"], figures["retention_reviews"]) == (0.5, 2)
    assert figures["reviews"] == 4 and sum(figures["reviews_per_day"].values()) == 4


def test_review_days_count_in_the_streak_and_heatmap_told_apart(sess):
    store, cur = sess.store, sess.curriculum
    review.add_term(store, cur, "attention", T0)
    day = T0.astimezone().date()
    review.grade(store, "attention", "forward", "good", T0)
    review.grade(store, "attention", "reverse", "good", T0 + dt.timedelta(days=1))
    assert store.activity_split(days=7, today=day + dt.timedelta(days=1)) == {
        day: {"study": 0, "review": 1},
        day + dt.timedelta(days=1): {"study": 0, "review": 1},
    }
    assert store.activity_by_day(days=7, today=day + dt.timedelta(days=1)) == {
        day: 1,
        day + dt.timedelta(days=1): 1,
    }
    assert store.streak(today=day + dt.timedelta(days=1)) == 2


def test_a_restored_deck_schedules_identically(sess, tmp_path):
    store, cur = sess.store, sess.curriculum
    review.set_status(store, cur, "basics/micrograd", "done", now=T0)
    review.add_term(store, cur, "attention", T0)
    _, now = _grade_through(store, "attention", ["good", "hard", "good"])
    review.suspend(store, "backpropagation", "reverse")
    review.set_directions(store, "forward", now)
    doc = json.loads(json.dumps(store.export_state()))  # through JSON, as a file would be
    assert len(doc["review_cards"]) == 4 and len(doc["review_log"]) == 3
    other = Store(tmp_path / "other.db")
    other.restore_state(doc)
    assert {k: v for k, v in other.export_state().items() if k != "exported_at"} == {
        k: v for k, v in doc.items() if k != "exported_at"
    }
    # The same grades from here on give the same schedule, card for card.
    later = now + dt.timedelta(days=3)
    for s in (store, other):
        for term in ("attention", "backpropagation"):
            review.grade(s, term, "forward", "again", later)
            for _ in range(3):
                review.grade(
                    s, term, "forward", "good", dt.datetime.fromisoformat(s.card(term, "forward")["due"])
                )
    assert other.cards() == store.cards()
    assert review.due_cards(other, cur, later) == review.due_cards(store, cur, later)
    other.close()


def test_restore_checks_review_rows_and_takes_exports_from_before_the_deck(sess):
    store, cur = sess.store, sess.curriculum
    review.add_term(store, cur, "attention", T0)
    review.grade(store, "attention", "forward", "good", T0)
    review.set_directions(store, "both", T0)
    doc = json.loads(json.dumps(store.export_state()))
    for table, index, column, value, message in [
        ("review_cards", 0, "due", "2026-03-02T09:00:00", "review_cards[0].due must be a UTC time"),
        (
            "review_cards",
            1,
            "direction",
            "sideways",
            "review_cards[1].direction must be one of forward, reverse",
        ),
        ("review_cards", 0, "state", True, "review_cards[0].state must be a whole number"),
        ("review_cards", 0, "stability", float("nan"), "review_cards[0].stability must be a number"),
        ("review_log", 0, "rating", 5, "review_log[0].rating must be between 1 and 4"),
        ("review_log", 0, "before", '{"state": 9}', "review_log[0].before state must be between 1 and 3"),
        ("settings", 0, "value", "not json", "settings[0].value is not JSON text"),
    ]:
        bad = json.loads(json.dumps(doc))
        bad[table][index][column] = value
        with pytest.raises(StoreError, match=message.replace("[", r"\[").replace("]", r"\]")):
            store.check_export(bad)
    twice = json.loads(json.dumps(doc))
    twice["review_cards"][1]["direction"] = "forward"
    with pytest.raises(StoreError, match="appears twice"):
        store.check_export(twice)
    cut = {k: v for k, v in doc.items() if k != "review_log"}
    with pytest.raises(StoreError, match="no 'review_log' list"):
        store.check_export(cut)
    # An export written before the review deck existed restores, with an empty deck.
    old = {k: v for k, v in doc.items() if k not in ("review_cards", "review_log", "settings")}
    old["migrations"] = [m for m in old["migrations"] if m != "m004_review_deck"]
    counts = store.restore_state(old)
    assert counts["review_cards"] == 0 and store.cards() == []


def test_the_desk_count_and_a_session_summary(sess):
    store, cur = sess.store, sess.curriculum
    review.add_term(store, cur, "attention", T0)
    review.add_term(store, cur, "bigram", T0 + dt.timedelta(minutes=1))  # later today in any time zone
    assert review.due_counts(store, cur, T0) == {"now": 2, "today": 4}
    results = [
        review.grade(store, "attention", "forward", "again", T0),
        review.grade(store, "attention", "reverse", "good", T0),
    ]
    results.append(review.grade(store, "attention", "forward", "good", results[0].due))
    summary = review.summarize(results)
    assert summary == {
        "reviews": 3,
        "cards": 2,
        "by_rating": {"again": 1, "hard": 0, "good": 2, "easy": 0},
        "again_rate": round(1 / 3, 4),
        "next_due": results[1].due,
    }
    assert review.summarize([])["next_due"] is None
    card = review.deck(store, cur, "attention")[0]
    assert (card.label(), card.label(ascii_only=True)) == ("term → definition", "term -> definition")


def test_add_finished_catches_up_on_items_done_before_the_deck(sess):
    store, cur = sess.store, sess.curriculum
    store.set_status("basics/cs25", "done")  # as an older studytui did: no cards
    store.set_status("basics/makemore", "doing")
    assert store.cards() == []
    added = review.add_finished(store, cur, T0)
    assert sorted(added) == [("attention", "forward"), ("attention", "reverse")]
    assert {c["added_by"] for c in store.cards()} == {"basics/cs25-intro"}
    assert review.add_finished(store, cur, T0) == []
