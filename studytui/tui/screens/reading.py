"""The reading list: the learner's own inbox of links, an archive, and links moved into courses.

a adds a link, x archives it, i puts it back in the inbox, m moves it into a course,
o opens it, delete removes it for good (after a y/n), f switches between inbox, archive,
in courses and all.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static

from studytui.curriculum.model import KINDS
from studytui.safetext import clean, plain
from studytui.store import DuplicateReading, StoreError
from studytui.tui.format import shorten
from studytui.tui.screens.synced import SyncedScreen, waiting_text
from studytui.tui.state import StudyState
from studytui.tui.widgets.status_bar import StatusBar

VIEWS = (("inbox", "Inbox"), ("archive", "Archive"), ("course", "In courses"), (None, "All"))


class ReadingScreen(SyncedScreen):
    CSS_PATH = "reading.tcss"
    HELP_SECTION = "Reading list"
    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("x", "move('archive')", "Archive"),
        Binding("i", "move('inbox')", "Inbox"),
        Binding("m", "to_course", "To course"),
        Binding("o", "open_link", "Open"),
        Binding("f", "next_view", "Inbox/Archive/..."),
        Binding("delete", "delete", "Delete"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.view = 0

    def compose(self) -> ComposeResult:
        yield StatusBar("reading")
        yield Static("", id="reading-views")
        yield DataTable(id="reading-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="reading-empty", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in (
            ("title", "Title"),
            ("kind", "Kind"),
            ("tags", "Tags"),
            ("where", "Where"),
            ("url", "URL"),
        ):
            table.add_column(label, key=key)
        self.ready()
        table.focus()

    def show_waiting(self, message: Text) -> None:
        self.query_one("#reading-empty", Static).update(message)

    def redraw(self, state: StudyState) -> None:
        self.show_rows()

    def rows(self) -> list[dict]:
        return self.app.session.store.reading(VIEWS[self.view][0]) if self.app.state else []

    def show_rows(self) -> None:
        app = self.app
        if app.state is None:
            self.show_waiting(waiting_text(app.load_error))
            return
        store, g = app.session.store, app.glyphs
        counts = {place: len(store.reading(place)) for place, _ in VIEWS if place}
        views = Text()
        for n, (place, label) in enumerate(VIEWS):
            if n:
                views.append(f" {g.sep} ")
            count = counts[place] if place else sum(counts.values())
            views.append(f"{label} ({count})", style="reverse bold" if n == self.view else "")
        views.append("   f: switch", style="dim")
        self.query_one("#reading-views", Static).update(views)

        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        rows = self.rows()
        for row in rows:
            where = row["course"] if row["status"] == "course" else row["status"]
            tags = row["tags"] if isinstance(row["tags"], (list, tuple)) else [row["tags"]]
            table.add_row(
                Text(shorten(clean(row["title"] or row["url"]), 40, g.ellipsis)),
                plain(row["kind"]),
                plain(", ".join(map(str, tags)), style="dim"),
                plain(where),
                Text(shorten(clean(row["url"]), 50, g.ellipsis), style="dim"),
                key=str(row["id"]),
            )
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))
        empty = (
            ""
            if rows
            else (
                "Nothing here. a: add a link (or `studytui add URL --title ...`)."
                if self.view == 0
                else "Nothing here."
            )
        )
        self.query_one("#reading-empty", Static).update(empty)

    def _selected_id(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.app.notify("No link selected.")
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(key.value)

    def action_next_view(self) -> None:
        self.view = (self.view + 1) % len(VIEWS)
        self.query_one(DataTable).move_cursor(row=0)
        self.show_rows()

    def action_move(self, place: str) -> None:
        reading_id = self._selected_id()
        if reading_id is None or self.app.state is None:
            return
        self.app.session.store.move_reading(reading_id, place, source="tui")
        self.app.notify(clean(f"Moved to the {place}."), markup=False)
        self.show_rows()

    def action_to_course(self) -> None:
        reading_id = self._selected_id()
        if reading_id is None or self.app.state is None:
            return
        courses = [(c.title, c.id) for c in self.app.state.curriculum.courses]
        if not courses:
            self.app.notify("There are no courses to move it into.")
            return

        def chosen(course: str | None) -> None:
            if course:
                self.app.session.store.move_reading(reading_id, "course", course=course, source="tui")
                self.app.notify(clean(f"Moved into {course}."), markup=False)
                self.show_rows()

        self.app.push_screen(ChooseCourseScreen(courses), chosen)

    def action_add(self) -> None:
        if self.app.state is None:
            return

        def added(entry: dict | None) -> None:
            if entry:
                try:
                    self.app.session.store.add_reading(
                        entry["url"], entry["title"], kind=entry["kind"], tags=entry["tags"], source="tui"
                    )
                except DuplicateReading as e:  # a refusal, not a damaged database
                    self.app.notify(clean(str(e)), severity="warning", markup=False)
                    return
                self.app.notify("Added to the inbox.")
                self.view = 0
                self.show_rows()

        self.app.push_screen(AddReadingScreen(), added)

    def action_delete(self) -> None:
        from studytui.tui.screens.confirm import ConfirmScreen

        reading_id = self._selected_id()
        if reading_id is None or self.app.state is None:
            return
        row = next((r for r in self.rows() if r["id"] == reading_id), None)
        what = shorten(clean(row["title"] or row["url"]), 50) if row else f"entry {reading_id}"

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.app.session.store.delete_reading(reading_id, source="tui")
            except StoreError as e:
                self.app.notify(clean(str(e)), severity="error", markup=False)
                return
            self.app.notify(clean(f"Deleted {what}."), markup=False)
            self.show_rows()

        self.app.push_screen(ConfirmScreen(f"Delete {what} from the reading list?"), answered)

    def action_open_link(self) -> None:
        reading_id = self._selected_id()
        if reading_id is None:
            return
        row = next((r for r in self.rows() if r["id"] == reading_id), None)
        if row:
            self.app.open_url(row["url"])


def parse_tags(text: str) -> list[str]:
    return [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]


class AddReadingScreen(ModalScreen[dict | None]):
    """URL, title, kind and tags; enter in the last field or ctrl+s adds it."""

    CSS_PATH = "reading.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Add")]

    def compose(self) -> ComposeResult:
        with Vertical(id="add-box", classes="dialog"):
            yield Label("Add to the reading list", classes="panel-title")
            yield Input(placeholder="https://...", id="add-url")
            yield Input(placeholder="title", id="add-title")
            yield Select([(k, k) for k in KINDS], value="article", allow_blank=False, id="add-kind")
            yield Input(placeholder="tags, comma separated", id="add-tags")
            yield Static("", id="add-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add (ctrl+s)", variant="primary", id="add-ok")
                yield Button("Cancel (esc)", id="add-cancel")

    def on_mount(self) -> None:
        self.query_one("#add-url", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "add-tags":
            self.action_save()
        else:
            self.focus_next()

    @on(Button.Pressed, "#add-ok")
    def action_save(self) -> None:
        url = self.query_one("#add-url", Input).value.strip()
        title = self.query_one("#add-title", Input).value.strip()
        if not url.startswith(("http://", "https://")):
            self.query_one("#add-error", Static).update(
                Text("The URL must start with http:// or https://", style="bold red")
            )
            self.query_one("#add-url", Input).focus()
            return
        self.dismiss(
            {
                "url": url,
                "title": title or url,
                "kind": self.query_one("#add-kind", Select).value,
                "tags": parse_tags(self.query_one("#add-tags", Input).value),
            }
        )

    @on(Button.Pressed, "#add-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ChooseCourseScreen(ModalScreen[str | None]):
    CSS_PATH = "reading.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, courses: list[tuple[str, str]]):
        super().__init__()
        self.courses = courses

    def compose(self) -> ComposeResult:
        from textual.widgets import OptionList
        from textual.widgets.option_list import Option

        with Vertical(id="course-box", classes="dialog"):
            yield Label("Move into which course?  (enter: move, esc: cancel)", classes="panel-title")
            yield OptionList(
                *[Option(plain(title), id=cid) for title, cid in self.courses], id="course-choice"
            )

    def on_option_list_option_selected(self, event) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
