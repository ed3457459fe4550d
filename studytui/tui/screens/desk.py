"""The desk (home): progress per course, streak and activity, next up, recent, running labs."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, OptionList, Static
from textual.widgets.option_list import Option

from studytui import review
from studytui.curriculum.durations import format_duration
from studytui.safetext import clean
from studytui.study import course_summaries, left_text, next_items, overall_tally
from studytui.tui.format import bar, shorten
from studytui.tui.glyphs import status_mark
from studytui.tui.screens.synced import SyncedScreen
from studytui.tui.state import StudyState, course_node
from studytui.tui.widgets.desk_notice import DeskNotice
from studytui.tui.widgets.heatmap import Heatmap
from studytui.tui.widgets.labs_strip import LabsStrip
from studytui.tui.widgets.status_bar import StatusBar

HEATMAP_WEEKS = 12
TITLE_WIDTH = 26
BAR_WIDTH = 12
ALL_COURSES = "-all-courses"  # the total row's key: no course id starts with "-"


class DeskScreen(SyncedScreen):
    CSS_PATH = "desk.tcss"
    HELP_SECTION = "Desk"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def compose(self) -> ComposeResult:
        yield StatusBar("desk")
        yield DeskNotice(id="desk-notice")
        with Vertical(id="desk-courses"):
            yield Static("Progress", classes="panel-title")
            yield DataTable(id="course-table", cursor_type="row", show_cursor=True)
        with Horizontal(id="desk-lower"):
            with Vertical(id="desk-activity"):
                yield Static("", id="streak")
                yield Heatmap("", id="heatmap")
                yield Static("", id="totals")
            with Vertical(id="desk-lists"):
                yield Static("Next up", classes="panel-title")
                yield OptionList(id="next-up")
                yield Static("Recently touched", classes="panel-title")
                yield OptionList(id="recent")
        yield LabsStrip(id="labs-strip")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#course-table", DataTable)
        for key, label in (
            ("course", "Course"),
            ("bar", "Progress"),
            ("done", "Done"),
            ("hours", "Hours done"),
            ("left", "Left"),
        ):
            table.add_column(label, key=key)
        self.ready()

    def show_waiting(self, message: Text) -> None:
        self.query_one("#streak", Static).update(message)

    def redraw(self, state: StudyState) -> None:
        self._fill()

    def _fill(self) -> None:
        app, state, g = self.app, self.app.state, self.app.glyphs
        store, cur = app.session.store, state.curriculum
        today = app.today()

        table = self.query_one("#course-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        summaries = course_summaries(cur, state.progress, state.time_by_key)
        rows = [(s.course.id, s.course.title, s.tally) for s in summaries]
        if len(summaries) > 1:  # a resource shared by several courses counts once here
            rows.append((ALL_COURSES, "all courses", overall_tally(cur, state.progress, state.time_by_key)))
        for key, title, t in rows:
            table.add_row(
                Text(
                    shorten(clean(title), TITLE_WIDTH, g.ellipsis), style="bold" if key == ALL_COURSES else ""
                ),
                Text(bar(g, t.done, t.total, BAR_WIDTH) + f" {t.percent:3.0f}%", style="green"),
                Text(f"{t.done}/{t.total}", justify="right"),
                Text(format_duration(t.seconds_done), justify="right"),
                Text(left_text(t), justify="right"),
                key=key,
            )
        self.query_one(DeskNotice).show_welcome(not state.progress)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))

        streak = store.streak(today=today)
        logged = sum(state.time_by_key.values())
        self.query_one("#streak", Static).update(
            Text.assemble(
                (f"{g.streak} ", "yellow"),
                (f"{streak} day streak", "bold"),
                (f"  {HEATMAP_WEEKS} weeks", "dim"),
            )
        )
        split = store.activity_split(days=HEATMAP_WEEKS * 7, today=today)
        counts = {day: sum(kinds.values()) for day, kinds in split.items()}
        review_only = {day for day, kinds in split.items() if kinds["review"] and not kinds["study"]}
        self.query_one(Heatmap).show(counts, today, HEATMAP_WEEKS, g, review_only)
        totals = Text(f"studied {format_duration(logged)} in all", style="dim")
        due_today = review.due_counts(store, cur)["today"]
        if due_today:
            totals.append(f"\n{due_today} card{'s' if due_today > 1 else ''} due today: V", style="bold")
        self.query_one("#totals", Static).update(totals)

        self._fill_list(
            "#next-up",
            [i.key for i in next_items(cur, state.progress, limit=8)],
            "Nothing left: every item is done or skipped.",
        )
        self._fill_list(
            "#recent",
            [k for k in store.recent_keys(8) if k in cur.items_by_key],
            "Nothing yet: mark an item in the curriculum (c).",
        )

    def _fill_list(self, selector: str, keys: list[str], empty: str) -> None:
        state, g = self.app.state, self.app.glyphs
        options = self.query_one(selector, OptionList)
        highlighted = options.highlighted
        options.clear_options()
        if not keys:
            options.add_option(Option(Text(empty, style="dim"), disabled=True))
            return
        for key in keys:
            item = state.curriculum.items_by_key[key]
            line = Text(status_mark(g, state.status(key)) + " ")
            line.append(clean(item.title))
            line.append(f"  {clean(item.course_id)}", style="dim")
            options.add_option(Option(line, id=key))
        if highlighted is not None:
            options.highlighted = min(highlighted, options.option_count - 1)

    @on(DataTable.RowSelected, "#course-table")
    def _course_chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value == ALL_COURSES:
            self.app.switch_mode("curriculum")
            return
        self.app.show_item(course_node(str(event.row_key.value)))

    @on(OptionList.OptionSelected)
    def _item_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.app.show_item(event.option.id)
