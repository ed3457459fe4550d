"""The review deck: glossary terms as FSRS flashcards, headless (the CLI and the TUI share it).

A card is a glossary term id and a direction: `forward` asks the term and reveals the
definition, `reverse` asks the definition and reveals the term (the learner may turn
reverse off). Cards enter the deck when an item that teaches the term is marked done
(`set_status` here is the one function the CLI and the TUI call to set a status) or by
hand (`add_term`). Scheduling is py-fsrs' `Scheduler`; this module only turns store rows
into fsrs cards and back. Every function takes `now` (timezone-aware; default: the
clock), so tests and the TUI's session summary run on a fixed clock.

    >>> due = due_cards(store, curriculum, now)          # what to ask, oldest due first
    >>> preview(due[0], now)["good"]                     # the interval each grade would give
    >>> grade(store, "attention", "forward", "good", now)
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studytui.store.review_sql import SCHEDULE_COLUMNS, utc_iso
from studytui.study import effective_statuses

if TYPE_CHECKING:
    import fsrs

    from studytui.curriculum.model import Curriculum, Term
    from studytui.store import Store

DIRECTIONS = ("forward", "reverse")
DIRECTION_LABELS = {"forward": "term → definition", "reverse": "definition → term"}
ASCII_DIRECTION_LABELS = {"forward": "term -> definition", "reverse": "definition -> term"}
RATINGS = ("again", "hard", "good", "easy")  # fsrs.Rating 1..4, in order
STATE_NAMES = {1: "learning", 2: "review", 3: "relearning"}  # fsrs.State values
DIRECTIONS_SETTING = "review.directions"
DIRECTION_CHOICES = ("both", "forward")
HAND = "hand"  # `added_by` of a card added with `review add` rather than by finishing an item
UTC = dt.timezone.utc


class ReviewError(LookupError):
    """A review request that cannot be done (unknown term, no such card); one line."""

    def __init__(self, message: str, candidates: Iterable[str] = ()):
        super().__init__(message)
        self.candidates = list(candidates)


class DamagedCard(ReviewError):
    """A stored card that cannot be read (hand-edited, or written by a bug): exit 2."""


# -- fsrs ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def scheduler() -> "fsrs.Scheduler":
    # Imported here, not at the top: `studytui status` and the desk's start-up need no fsrs.
    import fsrs

    # No fuzz: fsrs' fuzz draws from the global random generator, and the same history
    # must give the same schedule (a restored deck schedules identically; tests pin it).
    return fsrs.Scheduler(enable_fuzzing=False)


def _utc_now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("review times must be timezone-aware (fsrs schedules in UTC)")
    return now.astimezone(UTC)  # fsrs refuses any tzinfo but timezone.utc itself


def _fsrs_card(schedule: Mapping[str, Any]) -> "fsrs.Card":
    import fsrs

    # card_id is fsrs' own handle; ours is (term, direction). Passing one also skips the
    # 1 ms sleep fsrs takes to make ids unique.
    return fsrs.Card.from_dict({"card_id": 1, **{c: schedule[c] for c in SCHEDULE_COLUMNS}})


def _schedule(card: "fsrs.Card") -> dict[str, Any]:
    d = card.to_dict()
    return {
        "state": d["state"],
        "step": d["step"],
        "stability": d["stability"],
        "difficulty": d["difficulty"],
        "due": utc_iso(card.due),
        "last_review": utc_iso(card.last_review) if card.last_review else None,
    }


def new_cards(
    term_ids: Iterable[str],
    directions: Iterable[str],
    now: dt.datetime | None = None,
    *,
    added_by: str = HAND,
) -> list[dict[str, Any]]:
    """Store rows for new cards (due at once), one per term and direction."""
    import fsrs

    now = _utc_now(now)
    fresh = _schedule(fsrs.Card(card_id=1, due=now))
    return [
        {
            "term": t,
            "direction": d,
            **fresh,
            "added_at": utc_iso(now),
            "added_by": added_by,
            "suspended": 0,
            "flagged": 0,
        }
        for t in dict.fromkeys(term_ids)
        for d in directions
    ]


# -- the deck grows: finishing items, by hand, a setting ----------------------------------------
def enabled_directions(store: "Store") -> tuple[str, ...]:
    return DIRECTIONS if store.setting(DIRECTIONS_SETTING, "both") == "both" else ("forward",)


def set_directions(store: "Store", choice: str, now: dt.datetime | None = None) -> int:
    """`both` or `forward`. Turning reverse cards on adds them (due now) for every term
    already in the deck; turning them off keeps them (with their history), unasked.
    Returns how many cards were added."""
    if choice not in DIRECTION_CHOICES:
        raise ReviewError(f"unknown directions {choice!r} (use one of: {', '.join(DIRECTION_CHOICES)})")
    cards: list[dict[str, Any]] = []
    if choice == "both":
        rows = store.cards()
        have = {(r["term"], r["direction"]) for r in rows}
        missing = [r["term"] for r in rows if (r["term"], "reverse") not in have]
        cards = new_cards(missing, ["reverse"], now, added_by=HAND)
    store.set_setting(DIRECTIONS_SETTING, choice, cards=cards)
    return len(cards)


def taught_terms(curriculum: "Curriculum", key: str) -> list[str]:
    """Glossary ids an item teaches, its children's included (marking a playlist done
    finishes its videos too); ids missing from the glossary are left out."""
    item = curriculum.items_by_key.get(key)
    if item is None:
        return []
    ids = [t for node in item.walk() for t in node.terms if t in curriculum.terms_by_id]
    return list(dict.fromkeys(ids))


def set_status(
    store: "Store",
    curriculum: "Curriculum",
    key: str,
    status: str,
    *,
    source: str = "cli",
    now: dt.datetime | None = None,
) -> str:
    """Set an item's status (returns the old one); when it becomes done, the terms it
    teaches join the review deck in the same transaction. The CLI's `mark` and the TUI
    both call this, never `Store.set_status` directly."""
    terms = taught_terms(curriculum, key) if status == "done" else []
    cards = new_cards(terms, enabled_directions(store), now, added_by=key) if terms else []
    return store.set_status(key, status, source=source, cards=cards)


def add_finished(
    store: "Store", curriculum: "Curriculum", now: dt.datetime | None = None
) -> list[tuple[str, str]]:
    """Add the cards of every term taught by an item already done (for progress made
    before the deck existed). Returns the (term, direction) pairs added."""
    statuses = effective_statuses(curriculum, store.progress())
    directions = enabled_directions(store)
    cards = [
        card
        for key, status in statuses.items()
        if status == "done"
        for card in new_cards(curriculum.items_by_key[key].terms, directions, now, added_by=key)
        if card["term"] in curriculum.terms_by_id
    ]
    return store.add_cards(cards) if cards else []


def resolve_term(curriculum: "Curriculum", text: str) -> "Term":
    """The glossary term for an id, name or alias (forgiving case and typos), or a
    ReviewError with close names to suggest."""
    from studytui.glossary import find_term

    found, candidates = find_term(curriculum, text)
    if found is None:
        raise ReviewError(f"no glossary term {text!r}", candidates)
    return found


def add_term(
    store: "Store", curriculum: "Curriculum", text: str, now: dt.datetime | None = None
) -> tuple["Term", list[str]]:
    """ "Learn this term": its cards join the deck. Returns the term and the directions
    added (empty when it was already in the deck)."""
    term = resolve_term(curriculum, text)
    added = store.add_cards(new_cards([term.id], enabled_directions(store), now, added_by=HAND))
    return term, [d for _, d in added]


# -- asking -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewCard:
    """One card as a screen shows it. `prompt`/`answer` are curriculum text: untrusted,
    so render them through studytui.safetext."""

    term_id: str
    direction: str
    term: str  # the term's name
    prompt: str
    answer: str
    state: str  # new, learning, review, relearning
    due: dt.datetime
    last_review: dt.datetime | None
    stability: float | None
    difficulty: float | None
    suspended: bool
    flagged: bool
    schedule: Mapping[str, Any]  # the stored fsrs columns: what a grade is computed from

    def label(self, ascii_only: bool = False) -> str:
        """`term → definition` (or `term -> definition` for STUDYTUI_ASCII=1)."""
        return (ASCII_DIRECTION_LABELS if ascii_only else DIRECTION_LABELS)[self.direction]


def _state_name(row: Mapping[str, Any]) -> str:
    return "new" if row["last_review"] is None else STATE_NAMES.get(row["state"], "learning")


def _review_card(row: Mapping[str, Any], curriculum: "Curriculum") -> ReviewCard | None:
    term = curriculum.terms_by_id.get(row["term"])
    if term is None:
        return None  # the term left the glossary: its card is kept (and counted), not asked
    forward = row["direction"] == "forward"
    try:
        due = dt.datetime.fromisoformat(row["due"])
        last_review = dt.datetime.fromisoformat(row["last_review"]) if row["last_review"] else None
    except (TypeError, ValueError):
        raise DamagedCard(
            f"review card {row['term']!r} ({row['direction']}) holds a damaged time "
            f"{row['due']!r:.40}; restore from a backup (studytui restore FILE)"
        ) from None
    return ReviewCard(
        term_id=term.id,
        direction=row["direction"],
        term=term.term,
        prompt=term.term if forward else term.definition,
        answer=term.definition if forward else term.term,
        state=_state_name(row),
        due=due,
        last_review=last_review,
        stability=row["stability"],
        difficulty=row["difficulty"],
        suspended=bool(row["suspended"]),
        flagged=bool(row["flagged"]),
        schedule={c: row[c] for c in SCHEDULE_COLUMNS},
    )


def due_cards(
    store: "Store", curriculum: "Curriculum", now: dt.datetime | None = None, limit: int | None = None
) -> list[ReviewCard]:
    """Cards to ask now, oldest due first: suspended cards, turned-off directions and
    terms no longer in the glossary left out."""
    out = []
    for row in store.due_card_rows(_utc_now(now), enabled_directions(store)):
        card = _review_card(row, curriculum)
        if card is not None:
            out.append(card)
            if limit is not None and len(out) >= limit:
                break
    return out


def deck(store: "Store", curriculum: "Curriculum", term_id: str | None = None) -> list[ReviewCard]:
    """Every card (or one term's), whatever its due time, for browsing and suspending."""
    return [c for row in store.cards(term_id) if (c := _review_card(row, curriculum)) is not None]


def preview(card: ReviewCard | Mapping[str, Any], now: dt.datetime | None = None) -> dict[str, dt.timedelta]:
    """The interval each grade would give, before grading (as Anki shows on its buttons)."""
    import fsrs

    now = _utc_now(now)
    schedule = card.schedule if isinstance(card, ReviewCard) else card
    current = _fsrs_card(schedule)
    return {
        name: scheduler().review_card(current, fsrs.Rating(i), now)[0].due - now
        for i, name in enumerate(RATINGS, start=1)
    }


# -- grading ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradeResult:
    term_id: str
    direction: str
    rating: str
    state: str  # after the grade
    due: dt.datetime  # the next review
    interval: dt.timedelta
    log_id: int


def grade(
    store: "Store",
    term_id: str,
    direction: str,
    rating: str,
    now: dt.datetime | None = None,
    *,
    duration_ms: int | None = None,
    source: str = "cli",
) -> GradeResult:
    """Grade one card (again, hard, good or easy) and save it with its log row."""
    import fsrs

    if rating not in RATINGS:
        raise ReviewError(f"unknown grade {rating!r} (use one of: {', '.join(RATINGS)})")
    if direction not in DIRECTIONS:
        raise ReviewError(f"unknown direction {direction!r} (use one of: {', '.join(DIRECTIONS)})")
    now = _utc_now(now)
    row = store.card(term_id, direction)
    if row is None:
        raise ReviewError(
            f"{term_id!r} ({DIRECTION_LABELS[direction]}) is not in your review deck; "
            f"add it with `studytui review add {term_id}`"
        )
    before = {c: row[c] for c in SCHEDULE_COLUMNS}
    graded, _log = scheduler().review_card(
        _fsrs_card(before), fsrs.Rating(RATINGS.index(rating) + 1), now, duration_ms
    )
    after = _schedule(graded)
    log_id = store.record_review(
        term_id,
        direction,
        before,
        after,
        RATINGS.index(rating) + 1,
        now,
        duration_ms=duration_ms,
        source=source,
    )
    if log_id is None:
        raise ReviewError(
            f"{term_id!r} ({DIRECTION_LABELS[direction]}) was just graded elsewhere; "
            "nothing saved: look at it again"
        )
    return GradeResult(
        term_id, direction, rating, STATE_NAMES[after["state"]], graded.due, graded.due - now, log_id
    )


def undo_last_grade(store: "Store") -> dict[str, Any] | None:
    """Take back the newest grade (the card's schedule returns); None when there is none."""
    entry = store.undo_review()
    if entry is None:
        return None
    return {
        "term": entry["term"],
        "direction": entry["direction"],
        "rating": RATINGS[entry["rating"] - 1],
        "reviewed_at": entry["reviewed_at"],
    }


def suspend(store: "Store", term_id: str, direction: str, on: bool = True) -> None:
    if not store.set_card_marks(term_id, direction, suspended=on):
        raise ReviewError(f"no review card {term_id!r} ({direction})")


def flag(store: "Store", term_id: str, direction: str, on: bool = True) -> None:
    if not store.set_card_marks(term_id, direction, flagged=on):
        raise ReviewError(f"no review card {term_id!r} ({direction})")


def pick_direction(
    store: "Store", term_id: str, now: dt.datetime | None = None, direction: str | None = None
) -> str:
    """The direction `review TERM GRADE` grades: the one given, else the due one
    (forward first). A term with nothing due is a ReviewError naming its next review."""
    rows = [r for r in store.cards(term_id)]
    if not rows:
        raise ReviewError(
            f"{term_id!r} is not in your review deck; add it with `studytui review add {term_id}`"
        )
    if direction is not None:
        if direction not in DIRECTIONS:
            raise ReviewError(f"unknown direction {direction!r} (use one of: {', '.join(DIRECTIONS)})")
        if not any(r["direction"] == direction for r in rows):
            raise ReviewError(f"{term_id!r} has no {direction} card (see `studytui review directions`)")
        return direction
    now_text = utc_iso(_utc_now(now))
    enabled = enabled_directions(store)
    due = [r for r in rows if r["direction"] in enabled and not r["suspended"] and r["due"] <= now_text]
    if due:
        return min(due, key=lambda r: DIRECTIONS.index(r["direction"]))["direction"]
    upcoming = sorted(
        (r for r in rows if r["direction"] in enabled and not r["suspended"]), key=lambda r: r["due"]
    )
    when = f"; next review {upcoming[0]['due'][:16].replace('T', ' ')} UTC" if upcoming else ""
    raise ReviewError(f"{term_id!r} is not due{when} (pass --direction to review it early)")


# -- figures --------------------------------------------------------------------------------------
def stats(
    store: "Store", curriculum: "Curriculum | None" = None, now: dt.datetime | None = None, days: int = 30
) -> dict[str, Any]:
    """Deck figures: cards by state, due now/today, reviews per day and retention over
    the last `days` days. Retention is Anki's "true retention": the share of reviews of
    cards in the review state not graded Again; None before there is any such review."""
    now = _utc_now(now)
    rows = store.cards()
    by_state = {"new": 0, "learning": 0, "review": 0, "relearning": 0}
    for r in rows:
        by_state[_state_name(r)] += 1
    enabled = enabled_directions(store)
    active = _askable(store, rows, curriculum)
    local_now = now.astimezone()
    end_of_today = _end_of_local_day(now)
    since = dt.datetime.combine(
        local_now.date() - dt.timedelta(days=days - 1), dt.time(), tzinfo=local_now.tzinfo
    )
    log = store.review_log(since=since)
    per_day: dict[str, int] = {}
    passed = judged = 0
    for entry in log:
        try:
            day = dt.datetime.fromisoformat(entry["reviewed_at"]).astimezone().date().isoformat()
        except (TypeError, ValueError, OverflowError):
            continue  # one odd stored time must not break the figures forever
        per_day[day] = per_day.get(day, 0) + 1
        if _state_before(entry["before"]) == 2:
            judged += 1
            passed += entry["rating"] > 1
    orphans = (
        sorted({r["term"] for r in rows if r["term"] not in curriculum.terms_by_id})
        if curriculum is not None
        else []
    )
    return {
        "cards": len(rows),
        "by_state": by_state,
        "suspended": sum(bool(r["suspended"]) for r in rows),
        "flagged": sum(bool(r["flagged"]) for r in rows),
        "due_now": sum(r["due"] <= utc_iso(now) for r in active),
        "due_today": sum(r["due"] < utc_iso(end_of_today) for r in active),
        "days": days,
        "reviews": len(log),
        "reviews_per_day": dict(sorted(per_day.items())),
        "retention": round(passed / judged, 4) if judged else None,
        "retention_reviews": judged,
        "directions": "both" if enabled == DIRECTIONS else "forward",
        "orphans": orphans,
    }


def _state_before(text: Any) -> Any:
    try:
        before = json.loads(text)
    except (TypeError, ValueError):
        return None  # a hand-edited log row is left out of retention, not fatal
    return before.get("state") if isinstance(before, dict) else None


def due_counts(
    store: "Store", curriculum: "Curriculum | None" = None, now: dt.datetime | None = None
) -> dict[str, int]:
    """{"now": cards due now, "today": due by the end of the local day} for the desk;
    cheap (no fsrs import, no log read)."""
    now = _utc_now(now)
    active = _askable(store, store.cards(), curriculum)
    return {
        "now": sum(r["due"] <= utc_iso(now) for r in active),
        "today": sum(r["due"] < utc_iso(_end_of_local_day(now)) for r in active),
    }


def _askable(
    store: "Store", rows: list[dict[str, Any]], curriculum: "Curriculum | None"
) -> list[dict[str, Any]]:
    """The cards that can come up: not suspended, in a direction asked, term still in the glossary."""
    enabled = enabled_directions(store)
    return [
        r
        for r in rows
        if not r["suspended"]
        and r["direction"] in enabled
        and (curriculum is None or r["term"] in curriculum.terms_by_id)
    ]


def _end_of_local_day(now: dt.datetime) -> dt.datetime:
    local = now.astimezone()
    return dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=local.tzinfo)


def summarize(results: Iterable[GradeResult]) -> dict[str, Any]:
    """A review session's summary: grades given per rating, cards seen, and when the
    soonest of them comes back (None when nothing was graded)."""
    results = list(results)
    latest = {(r.term_id, r.direction): r for r in results}  # a card graded twice: its last grade
    return {
        "reviews": len(results),
        "cards": len(latest),
        "by_rating": {name: sum(r.rating == name for r in results) for name in RATINGS},
        "again_rate": round(sum(r.rating == "again" for r in results) / len(results), 4) if results else None,
        "next_due": min((r.due for r in latest.values()), default=None),
    }


def format_interval(delta: dt.timedelta) -> str:
    """Anki-style short interval: 1m, 10m, 3h, 4d, 2.1mo, 1.5y."""
    seconds = max(delta.total_seconds(), 0)
    if seconds < 3600:
        return f"{max(round(seconds / 60), 1)}m"
    if seconds < 86400:
        return f"{round(seconds / 3600)}h"
    days = seconds / 86400
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{days / 30:.1f}mo"
    return f"{days / 365:.1f}y"
