"""The review screen: glossary cards due now, asked one at a time (FSRS, studytui.review).

A card goes prompt -> answer (space) -> graded (1-4: again, hard, good, easy); the answer
phase shows the interval each grade would give before you choose, as Anki does. `u` takes
back the last grade (the card comes back to the front), `s` suspends a card, `f` flags it.
When the queue is empty (or on esc) a summary of the session; with nothing due at all, when
the next card comes.

Card text is curriculum text (untrusted): it reaches the screen through safetext, as Text.
Everything here runs on the UI thread, which owns the store's connection.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Static

from studytui import review
from studytui.safetext import clean, plain
from studytui.tui.glyphs import is_ascii
from studytui.tui.screens.synced import SyncedScreen
from studytui.tui.state import StudyState
from studytui.tui.widgets.status_bar import StatusBar

GRADE_LABELS = {"again": "Again", "hard": "Hard", "good": "Good", "easy": "Easy"}
GRADE_STYLES = {"again": "red", "hard": "yellow", "good": "green", "easy": "cyan"}
ANSWER_PHASE_ONLY = {"grade"}
CARD_PHASES_ONLY = {"reveal", "suspend", "flag"}


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def flag_glyph(ascii_only: bool) -> str:
    return "!" if ascii_only else "⚑"


def until_text(when: dt.datetime | None, now: dt.datetime) -> str:
    """'in 10m' / 'in 4d' (or 'now' for a card already due)."""
    if when is None:
        return ""
    if when <= now:
        return "now"
    return "in " + review.format_interval(when - now)


def grades_line(intervals: dict[str, dt.timedelta]) -> Text:
    """`1 Again <1m>  2 Hard <6m>  3 Good <10m>  4 Easy <8d>`: fits 80 columns."""
    line = Text()
    for number, rating in enumerate(review.RATINGS, start=1):
        if number > 1:
            line.append("  ")
        line.append(f"{number} ", style="bold reverse")
        line.append(f" {GRADE_LABELS[rating]} ", style=f"bold {GRADE_STYLES[rating]}")
        line.append(f"<{review.format_interval(intervals[rating])}>", style="dim")
    return line


def summary_text(summary: dict, now: dt.datetime, ascii_only: bool) -> Text:
    sep = "|" if ascii_only else "·"
    out = Text("Session done\n\n", style="bold")
    out.append(f"{summary['reviews']} review(s) of {summary['cards']} card(s)\n")
    out.append(f"  {sep} ".join(f"{GRADE_LABELS[r]} {summary['by_rating'][r]}" for r in review.RATINGS))
    out.append("\n")
    if summary["again_rate"] is not None:
        out.append(f"again rate {summary['again_rate']:.0%}\n")
    if summary["next_due"] is not None:
        out.append(f"next card due {until_text(summary['next_due'], now)}\n")
    out.append("\nesc: back to the desk", style="dim")
    return out


class ReviewScreen(SyncedScreen):
    CSS_PATH = "review.tcss"
    HELP_SECTION = "Review"
    BINDINGS = [
        Binding("space", "reveal", "Show answer"),
        Binding("1", "grade('again')", "Again"),
        Binding("2", "grade('hard')", "Hard"),
        Binding("3", "grade('good')", "Good"),
        Binding("4", "grade('easy')", "Easy"),
        Binding("u", "undo_grade", "Undo grade"),
        Binding("s", "suspend", "Suspend", show=False),
        Binding("f", "flag", "Flag", show=False),
        Binding("escape", "finish", "End"),
    ]

    def __init__(self, clock: Callable[[], dt.datetime] = utc_now, **kwargs):
        super().__init__(**kwargs)
        self.clock = clock
        self.phase: str | None = None  # None (not started), prompt, answer, summary, empty
        self.queue: list[review.ReviewCard] = []
        self.results: list[review.GradeResult] = []
        self.intervals: dict[str, dt.timedelta] = {}
        self._revealed_at: dt.datetime | None = None  # the `now` the intervals were computed at
        self._shown_t = 0.0  # monotonic time the prompt appeared (duration_ms)

    def compose(self) -> ComposeResult:
        yield StatusBar("review")
        with Vertical(id="review-box"):
            yield Static("", id="review-title")
            yield Static("", id="review-label")
            with VerticalScroll(id="review-body"):
                yield Static("", id="review-prompt")
                yield Static("", id="review-rule")
                yield Static("", id="review-answer")
            yield Static("", id="review-grades")
            yield Static("", id="review-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.ready()

    # -- SyncedScreen ---------------------------------------------------------------------------
    def show_waiting(self, message: Text) -> None:
        self.query_one("#review-prompt", Static).update(message)

    def redraw(self, state: StudyState) -> None:
        # The app redraws after every change it makes; a card being asked stays on screen.
        if self.phase in (None, "empty"):
            self.start_session()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.app.state is not None and self.phase in ("summary", "empty"):
            self.start_session()

    # -- the session ----------------------------------------------------------------------------
    @property
    def ascii_only(self) -> bool:
        return is_ascii(self.app.glyphs)

    def start_session(self) -> None:
        self.results = []
        self.load_queue()

    def load_queue(self) -> None:
        state = self.app.state
        if state is None:
            return
        try:
            self.queue = review.due_cards(self.app.session.store, state.curriculum, self.clock())
        except review.ReviewError as e:  # a damaged card: one line, nothing asked
            self.queue = []
            self.phase = "empty"
            self._show_lines(plain(str(e), style="bold red"))
            return
        if self.queue:
            self.show_prompt()
        elif self.results:
            self.show_summary()
        else:
            self.show_nothing_due()

    def show_prompt(self) -> None:
        self.phase = "prompt"
        self._shown_t = time.monotonic()
        self._revealed_at = None
        self._draw_card(revealed=False)

    def _draw_card(self, revealed: bool) -> None:
        card = self.queue[0]
        g, ascii_only = self.app.glyphs, self.ascii_only
        sep = f" {g.sep} "
        self.query_one("#review-title", Static).update(
            Text.assemble(
                ("Review", "bold"),
                sep,
                f"{len(self.queue)} due",
                sep,
                f"{len(self.results)} graded",
                style="",
            )
        )
        label = Text(card.label(ascii_only), style="dim")
        label.append(f"{sep}{card.state}", style="dim")
        if card.flagged:
            label.append(f"  {flag_glyph(ascii_only)} flagged", style="bold yellow")
        self.query_one("#review-label", Static).update(label)
        self.query_one("#review-prompt", Static).update(plain(card.prompt, style="bold", multiline=True))
        rule = self.query_one("#review-rule", Static)
        answer = self.query_one("#review-answer", Static)
        grades = self.query_one("#review-grades", Static)
        rule.display = answer.display = grades.display = revealed
        if revealed:
            rule.update(Text(("-" if ascii_only else "─") * 40, style="dim"))
            answer.update(plain(card.answer, multiline=True))
            grades.update(grades_line(self.intervals))
            hint = "1-4: grade  u: undo  s: suspend  f: flag  esc: end"
        else:
            hint = "space: show answer  u: undo  s: suspend  f: flag  esc: end"
        self.query_one("#review-hint", Static).update(Text(hint, style="dim"))
        self.refresh_bindings()

    def show_summary(self) -> None:
        self.phase = "summary"
        self.queue = []
        self._show_lines(summary_text(review.summarize(self.results), self.clock(), self.ascii_only))
        self.app.refresh_state()  # the streak, the heat map and the desk's due count moved

    def show_nothing_due(self) -> None:
        self.phase = "empty"
        now = self.clock()
        state = self.app.state
        upcoming = [
            c.due
            for c in review.deck(self.app.session.store, state.curriculum)
            if not c.suspended and c.direction in review.enabled_directions(self.app.session.store)
        ]
        text = Text("Nothing due.\n\n", style="bold")
        if upcoming:
            text.append(f"The next card is due {until_text(min(upcoming), now)}.\n")
        else:
            text.append(
                "Your deck is empty. Cards join it when you mark an item done (x in the\n"
                "curriculum), or with a in the glossary: learn this term.\n"
            )
        text.append("\nesc: back to the desk", style="dim")
        self._show_lines(text)

    def _show_lines(self, text: Text) -> None:
        self.query_one("#review-title", Static).update(Text("Review", style="bold"))
        self.query_one("#review-label", Static).update("")
        self.query_one("#review-prompt", Static).update(text)
        for selector in ("#review-rule", "#review-answer", "#review-grades"):
            self.query_one(selector, Static).display = False
        self.query_one("#review-hint", Static).update("")
        self.refresh_bindings()

    def _next(self) -> None:
        self.queue.pop(0)
        if self.queue:
            self.show_prompt()
        else:
            self.load_queue()  # learning cards may have come due again meanwhile

    # -- keys -----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ANSWER_PHASE_ONLY:
            return self.phase == "answer"
        if action in CARD_PHASES_ONLY:
            return self.phase == "prompt" if action == "reveal" else self.phase in ("prompt", "answer")
        return True

    def action_reveal(self) -> None:
        if self.phase != "prompt":
            return
        self._revealed_at = self.clock()
        self.intervals = review.preview(self.queue[0], self._revealed_at)
        self.phase = "answer"
        self._draw_card(revealed=True)

    def action_grade(self, rating: str) -> None:
        if self.phase != "answer":
            return
        card = self.queue[0]
        duration_ms = int((time.monotonic() - self._shown_t) * 1000)
        try:
            result = review.grade(
                self.app.session.store,
                card.term_id,
                card.direction,
                rating,
                self._revealed_at,
                duration_ms=duration_ms,
                source="tui",
            )
        except review.ReviewError as e:  # graded meanwhile in another window, or gone
            self.notify(clean(str(e)), severity="warning", markup=False)
            self.load_queue()
            return
        self.results.append(result)
        self._next()

    def action_undo_grade(self) -> None:
        store, state = self.app.session.store, self.app.state
        if state is None:
            return
        undone = review.undo_last_grade(store)
        if undone is None:
            self.notify("No grade to undo.")
            return
        key = (undone["term"], undone["direction"])
        for i in range(len(self.results) - 1, -1, -1):
            if (self.results[i].term_id, self.results[i].direction) == key:
                del self.results[i]
                break
        card = next(
            (
                c
                for c in review.deck(store, state.curriculum, undone["term"])
                if c.direction == undone["direction"]
            ),
            None,
        )
        self.notify(clean(f"Undid {undone['rating']} on {undone['term']}"), markup=False)
        if card is None:  # its term left the glossary: nothing to ask again
            self.load_queue()
            return
        self.queue = [card] + [c for c in self.queue if (c.term_id, c.direction) != key]
        self.show_prompt()

    def action_suspend(self) -> None:
        if self.phase not in ("prompt", "answer"):
            return
        card = self.queue[0]
        review.suspend(self.app.session.store, card.term_id, card.direction, on=True)
        self.notify(clean(f"Suspended {card.term} ({card.label(self.ascii_only)})"), markup=False)
        self._next()

    def action_flag(self) -> None:
        if self.phase not in ("prompt", "answer"):
            return
        card = self.queue[0]
        review.flag(self.app.session.store, card.term_id, card.direction, on=not card.flagged)
        self.queue[0] = dataclasses.replace(card, flagged=not card.flagged)
        self._draw_card(revealed=self.phase == "answer")

    def action_finish(self) -> None:
        if self.phase in ("prompt", "answer") and self.results:
            self.show_summary()
            return
        if self.phase in ("prompt", "answer"):
            self.phase = "empty"  # nothing graded: start afresh next time
        self.app.switch_mode("desk")
