"""`studytui review ...`: the glossary review deck from the command line (JSON in docs/cli.md).

    studytui review                      cards due now
    studytui review TERM good            grade TERM's due card (again, hard, good, easy)
    studytui review add TERM             learn a term by hand (`--done`: every finished item's terms)
    studytui review stats                retention, reviews per day, cards by state
    studytui review directions forward   ask term → definition only (`both` brings reverse back)
    studytui review undo                 take back the last grade

The scheduling is studytui.review's (py-fsrs); this module parses and prints.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer
from rich import box
from rich.table import Table
from typer.core import TyperGroup

from studytui.cli.common import console, echo, fail, print_json, session
from studytui.review import DIRECTION_CHOICES, DIRECTION_LABELS, DIRECTIONS, RATINGS, ReviewCard, ReviewError
from studytui.safetext import plain


class _GradeByDefault(TyperGroup):
    """`studytui review TERM GRADE` means `studytui review grade TERM GRADE`: a first word
    that is no subcommand is a term (no glossary term is called `stats` or `add`)."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "grade", self.commands["grade"], args
        return super().resolve_command(ctx, args)


review_app = typer.Typer(
    cls=_GradeByDefault,
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Review glossary terms with spaced repetition (FSRS).\n\n"
    "`studytui review` lists the cards due now; `studytui review TERM good` grades one.",
)

JsonOpt = typer.Option(False, "--json", help="Machine-readable output (fields in docs/cli.md).")


def _fail(e: ReviewError) -> None:
    hint = ("; did you mean: " + ", ".join(e.candidates[:8])) if e.candidates else ""
    fail(f"{e}{hint}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _when(moment: dt.datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def card_json(card: ReviewCard, now: dt.datetime) -> dict[str, Any]:
    from studytui.review import preview

    return {
        "term": card.term_id,
        "name": card.term,
        "direction": card.direction,
        "prompt": card.prompt,
        "answer": card.answer,
        "state": card.state,
        "due": card.due.isoformat(),
        "last_review": card.last_review.isoformat() if card.last_review else None,
        "flagged": card.flagged,
        "intervals_s": {k: round(v.total_seconds()) for k, v in preview(card, now).items()},
    }


@review_app.callback()
def due(
    ctx: typer.Context,
    as_json: bool = JsonOpt,
    limit: int = typer.Option(50, "-n", min=1, help="Show at most this many cards."),
) -> None:
    """Cards due now, oldest due first."""
    if ctx.invoked_subcommand is not None:
        return
    from studytui.review import due_cards, enabled_directions, format_interval, preview, stats

    sess = session(ctx)
    now = _now()
    try:
        cards = due_cards(sess.store, sess.curriculum, now)
    except ReviewError as e:  # a damaged card row
        fail(str(e), 2)
    figures = stats(sess.store, sess.curriculum, now)
    if as_json:
        print_json(
            {
                "now": now.isoformat(),
                "due_count": len(cards),
                "due_today": figures["due_today"],
                "directions": figures["directions"],
                "cards": [card_json(c, now) for c in cards[:limit]],
            }
        )
        return
    if not cards:
        deck_size = figures["cards"]
        console.print(
            "Nothing due now."
            + (f" {figures['due_today']} more due today." if figures["due_today"] else "")
            + (
                ""
                if deck_size
                else " The deck is empty: finish an item that teaches terms, or `studytui review add TERM`."
            ),
            highlight=False,
        )
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("term", "asks", "state", "again", "hard", "good", "easy"):
        table.add_column(col, justify="right" if col in RATINGS else "left", no_wrap=col != "term")
    for card in cards[:limit]:
        shown = {k: format_interval(v) for k, v in preview(card, now).items()}
        table.add_row(
            plain(card.term), DIRECTION_LABELS[card.direction], card.state, *(shown[r] for r in RATINGS)
        )
    console.print(table)
    more = f" (showing {limit})" if len(cards) > limit else ""
    console.print(
        f"{len(cards)} due{more}; grade with `studytui review TERM again|hard|good|easy`"
        + ("" if enabled_directions(sess.store) == DIRECTIONS else " (term → definition only)"),
        highlight=False,
    )


@review_app.command()
def grade(
    ctx: typer.Context,
    term: str = typer.Argument(..., help="A glossary term, alias or id."),
    rating: str = typer.Argument(..., metavar="GRADE", help="again, hard, good or easy."),
    direction: str | None = typer.Option(
        None, "--direction", "-d", help="forward (term → definition) or reverse; default: the due one."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Grade a term's due card: again, hard, good or easy."""
    from studytui.review import format_interval, pick_direction, resolve_term
    from studytui.review import grade as grade_card

    if rating not in RATINGS:
        fail(f"unknown grade {rating!r} (use one of: {', '.join(RATINGS)})", 2)
    if direction is not None and direction not in DIRECTIONS:
        fail(f"unknown direction {direction!r} (use one of: {', '.join(DIRECTIONS)})", 2)
    sess = session(ctx)
    now = _now()
    try:
        found = resolve_term(sess.curriculum, term)
        chosen = pick_direction(sess.store, found.id, now, direction)
        result = grade_card(sess.store, found.id, chosen, rating, now)
    except ReviewError as e:
        _fail(e)
    if as_json:
        print_json(
            {
                "term": result.term_id,
                "direction": result.direction,
                "rating": result.rating,
                "state": result.state,
                "due": result.due.isoformat(),
                "interval_s": round(result.interval.total_seconds()),
            }
        )
        return
    echo(
        f"{found.term} ({DIRECTION_LABELS[chosen]}): {rating}; next review in "
        f"{format_interval(result.interval)} ({_when(result.due)})"
    )


@review_app.command()
def add(
    ctx: typer.Context,
    term: str | None = typer.Argument(None, help="A glossary term, alias or id."),
    done: bool = typer.Option(False, "--done", help="Add the terms of every item you have finished."),
) -> None:
    """Add a term's cards to the review deck (due at once)."""
    from studytui.review import add_finished, add_term

    if (term is None) == (not done):
        fail("give a TERM, or --done for the terms of every finished item", 2)
    sess = session(ctx)
    if done:
        added = add_finished(sess.store, sess.curriculum, _now())
        echo(f"added {len(added)} card(s) from {len({t for t, _ in added})} term(s) of finished items")
        return
    try:
        found, directions = add_term(sess.store, sess.curriculum, term, _now())
    except ReviewError as e:
        _fail(e)
    if directions:
        echo(f"{found.term}: added ({', '.join(DIRECTION_LABELS[d] for d in directions)}), due now")
    else:
        echo(f"{found.term}: already in the review deck")


@review_app.command()
def stats(
    ctx: typer.Context,
    as_json: bool = JsonOpt,
    days: int = typer.Option(30, "--days", min=1, max=3660, help="Days of history to count."),
) -> None:
    """Retention, reviews per day and cards by state."""
    from studytui.review import stats as deck_stats

    sess = session(ctx)
    figures = deck_stats(sess.store, sess.curriculum, _now(), days=days)
    if as_json:
        print_json(figures)
        return
    states = ", ".join(f"{n} {s}" for s, n in figures["by_state"].items())
    console.print(f"cards: {figures['cards']} ({states}); {figures['suspended']} suspended", highlight=False)
    console.print(
        f"due now: {figures['due_now']} · due today: {figures['due_today']} · "
        f"directions: {figures['directions']}",
        highlight=False,
    )
    retention = (
        f"{100 * figures['retention']:.1f}% of {figures['retention_reviews']} review-state cards recalled"
        if figures["retention"] is not None
        else "no review-state cards graded yet"
    )
    per_day = figures["reviews"] / days
    console.print(
        f"last {days} days: {figures['reviews']} reviews ({per_day:.1f} a day); retention: {retention}",
        highlight=False,
    )
    for day, count in list(figures["reviews_per_day"].items())[-7:]:
        console.print(f"  {day}  {'█' * min(count, 60)} {count}", highlight=False)
    if figures["orphans"]:
        echo(
            f"{len(figures['orphans'])} card term(s) no longer in the glossary (kept): "
            + ", ".join(figures["orphans"][:8])
        )


@review_app.command()
def directions(
    ctx: typer.Context,
    choice: str | None = typer.Argument(
        None, metavar="[both|forward]", help="both: also definition → term; forward: term → definition only."
    ),
) -> None:
    """Show or set which directions are asked."""
    from studytui.review import enabled_directions, set_directions

    sess = session(ctx)
    if choice is None:
        echo("both" if enabled_directions(sess.store) == DIRECTIONS else "forward")
        return
    if choice not in DIRECTION_CHOICES:
        fail(f"unknown directions {choice!r} (use one of: {', '.join(DIRECTION_CHOICES)})", 2)
    added = set_directions(sess.store, choice, _now())
    echo(f"review directions: {choice}" + (f" ({added} definition → term card(s) added)" if added else ""))


@review_app.command("undo")
def undo_grade(ctx: typer.Context) -> None:
    """Take back the last grade (the card's schedule returns)."""
    from studytui.review import undo_last_grade

    entry = undo_last_grade(session(ctx).store)
    if entry is None:
        fail("no grade to undo")
    echo(f"undid {entry['rating']} on {entry['term']} ({DIRECTION_LABELS[entry['direction']]})")
