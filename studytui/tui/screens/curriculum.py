"""The curriculum: the tree on the left, the highlighted item on the right.

Keys act on the item under the tree cursor: x / i / s toggle done / doing / skipped
(again: back to todo), u undoes the last change, t starts or stops the study timer, n
edits the note (saved as you type), o opens the item's link, L runs its lab (an item
without a lab of its own has its parent's: the button at the top of the detail says so).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, OptionList, Static, Tree
from textual.widgets.option_list import Option

from studytui.curriculum.durations import format_duration
from studytui.curriculum.model import Item
from studytui.safetext import clean, link, plain
from studytui.study import also_in, dead_text, left_text, tally
from studytui.tui.glyphs import status_mark
from studytui.tui.messages import NoteChanged, ShowItem
from studytui.tui.screens.synced import SyncedScreen
from studytui.tui.state import StudyState
from studytui.tui.widgets.curriculum_tree import CurriculumTree
from studytui.tui.widgets.note_editor import NoteEditor
from studytui.tui.widgets.status_bar import StatusBar


class CurriculumScreen(SyncedScreen):
    CSS_PATH = "curriculum.tcss"
    HELP_SECTION = "Curriculum"
    BINDINGS = [
        Binding("L", "open_lab", "Run the lab"),
        Binding("x", "mark('done')", "Done"),
        Binding("i", "mark('doing')", "Doing"),
        Binding("s", "mark('skipped')", "Skip"),
        Binding("u", "app.undo", "Undo"),
        Binding("t", "timer", "Timer"),
        Binding("n", "edit_note", "Note"),
        Binding("o", "open_link", "Open link"),
        Binding("escape", "focus_tree", "Tree", show=False),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.current: str | None = None  # the branch id shown in the detail pane
        self._pending_focus: str | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar("curriculum")
        with Horizontal(id="cur-body"):
            yield CurriculumTree(id="cur-tree")
            with VerticalScroll(id="detail"):
                yield Button("", id="run-lab", variant="success", compact=True)
                yield Static("", id="detail-title")
                yield Static("", id="detail-meta")
                yield Static("", id="detail-summary")
                yield Static(
                    "Links, terms, prerequisites, lab  (enter)", classes="panel-title", id="related-title"
                )
                yield OptionList(id="detail-related")
                yield Static(
                    "Note  (n: edit, esc: back; saved as you type)", classes="panel-title", id="note-title"
                )
                yield NoteEditor(id="note")
        yield Footer()

    @property
    def tree(self) -> CurriculumTree:
        return self.query_one(CurriculumTree)

    def on_mount(self) -> None:
        self.ready()
        self.tree.focus()

    @on(ShowItem)
    def _show_item_asked(self, message: ShowItem) -> None:
        self.focus_key(message.key)

    @on(NoteChanged)
    def _note_changed(self) -> None:
        self.reload_note()

    def show_waiting(self, message: Text) -> None:
        self.query_one("#detail-title", Static).update(message)

    def redraw(self, state: StudyState) -> None:
        app = self.app
        first = not self.tree._branches
        self.tree.load(state, app.glyphs)
        if first and self._pending_focus is None and state.curriculum.courses:
            self.tree.move_cursor(self.tree.root.children[0])
        if self._pending_focus:
            key, self._pending_focus = self._pending_focus, None
            self.focus_key(key)
        elif self.current:
            self.show_detail(self.current, keep_note=True)

    def focus_key(self, node_id: str) -> None:
        if self.app.state is None or not self._ready:
            self._pending_focus = node_id
            return
        self.sync_state()
        node = self.tree.reveal(node_id)
        self.tree.focus()
        if node is not None:
            self.show_detail(node_id)

    # -- the detail pane -------------------------------------------------------------------
    @on(Tree.NodeHighlighted, "#cur-tree")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        # Highlights arrive queued: one for a node the cursor already left is stale.
        if event.node is not self.tree.cursor_node:
            return
        if event.node.data and event.node.data != self.current:
            self.show_detail(event.node.data)

    def show_detail(self, node_id: str, *, keep_note: bool = False) -> None:
        state, g = self.app.state, self.app.glyphs
        if state is None:
            return
        editor = self.query_one(NoteEditor)
        if not keep_note or node_id != self.current:
            editor._flush()
        self.current = node_id
        cur = state.curriculum
        item = cur.items_by_key.get(node_id)
        related = self.query_one("#detail-related", OptionList)
        related.clear_options()
        is_item = item is not None
        for wid in ("#related-title", "#detail-related", "#note-title", "#note"):
            self.query_one(wid).display = is_item
        self._show_run_lab(item)
        if item is None:
            self._show_branch(node_id)
            return
        status = state.status(item.key)
        self.query_one("#detail-title", Static).update(plain(item.title, style="bold"))
        meta = Text()
        meta.append(status_mark(g, status) + f" {status}", style="bold")
        meta.append(f"  {g.sep}  {clean(item.kind)}")
        duration = item.effective_duration_s
        if duration:
            meta.append(f"  {g.sep}  {format_duration(duration)}")
        logged = state.time_by_key.get(item.key, 0)
        if logged:
            meta.append(f"  {g.sep}  studied {format_duration(logged)}")
        meta.append(f"\n{clean(item.key)}", style="dim")
        if item.by or item.date:
            meta.append("  " + clean(" ".join(str(x) for x in (item.by, item.date) if x)), style="dim")
        if item.children:
            t = tally(list(item.children), state.statuses, state.time_by_key)
            meta.append(f"\n{t.done}/{t.total} done  {g.sep}  {left_text(t)} left")
        if item.dead:
            meta.append(f"\n{dead_text(item.dead)}: the link may not open", style="yellow")
        self.query_one("#detail-meta", Static).update(meta)
        self.query_one("#detail-summary", Static).update(plain(item.summary or "", multiline=True))
        self._fill_related(related, item)
        if not keep_note or editor.key != item.key or not editor.has_focus:
            editor.load_note(item.key, self.app.session.store.note(item.key))

    def _show_branch(self, node_id: str) -> None:
        state, g = self.app.state, self.app.glyphs
        cur = state.curriculum
        done, finished, total = state.counts.get(node_id, (0, 0, 0))
        title, summary, items = node_id, "", []
        if node_id.startswith("course:"):
            course = cur.course(node_id[len("course:") :])
            if course:
                title, summary = course.title, course.summary
                items = [i for s in course.sections for i in s.items]
        elif node_id.startswith("section:"):
            course_id, section_id = node_id[len("section:") :].split("/", 1)
            course = cur.course(course_id)
            section = next((s for s in course.sections if s.id == section_id), None) if course else None
            if section:
                title, summary, items = section.title, section.summary, list(section.items)
        t = tally(items, state.statuses, state.time_by_key)
        self.query_one("#detail-title", Static).update(plain(title, style="bold"))
        self.query_one("#detail-meta", Static).update(
            Text(
                f"{done}/{total} done  {g.sep}  {format_duration(t.seconds_done)} done  {g.sep}  "
                f"{left_text(t)} left"
            )
        )
        self.query_one("#detail-summary", Static).update(plain(summary or "", multiline=True))
        self.query_one(NoteEditor).load_note(None, "")

    def _fill_related(self, related: OptionList, item: Item) -> None:
        state, g = self.app.state, self.app.glyphs
        cur = state.curriculum
        urls = ([("Open", item.url, item.dead)] if item.url else []) + [
            (link.title, link.url, link.dead) for link in item.links
        ]
        for n, (title, url, dead) in enumerate(urls):
            line = Text.assemble((f"{g.link} ", "cyan"), clean(title), "  ")
            if dead:
                line.append(f"({dead_text(dead)}) ", style="yellow")
            line.append_text(link(url, style="dim"))
            related.add_option(Option(line, id=f"url:{n}"))
        for term_id in item.terms:
            term = cur.terms_by_id.get(term_id)
            related.add_option(
                Option(
                    Text.assemble(("term ", "magenta"), clean(term.term if term else term_id)),
                    id=f"term:{term_id}",
                )
            )
        for key in item.prerequisites:
            pre = cur.items_by_key.get(key)
            mark = status_mark(g, state.status(key))
            related.add_option(
                Option(
                    Text.assemble(("needs ", "yellow"), f"{mark} ", clean(pre.title if pre else key)),
                    id=f"item:{key}",
                )
            )
        if item.lab:
            hint = "L: open it" if self.app.labs_available() else f"run: studytui lab run {clean(item.lab)}"
            related.add_option(
                Option(
                    Text.assemble(("lab ", "bold cyan"), clean(item.lab), (f"  {hint}", "dim")),
                    id=f"lab:{item.lab}",
                )
            )
        if not related.option_count:
            related.add_option(Option(Text("(none)", style="dim"), disabled=True))
        for other in also_in(cur, item):
            course = cur.course(other.course_id)
            related.add_option(
                Option(
                    Text.assemble(("also in ", "green"), clean(course.title if course else other.course_id)),
                    id=f"item:{other.key}",
                )
            )
        self._urls = [u for _, u, _ in urls]

    def _show_run_lab(self, item: Item | None) -> None:
        """The first line of an item with a lab (its own or its parent's): a button, key L."""
        button = self.query_one("#run-lab", Button)
        button.display = bool(item is not None and item.lab)
        if item is None or not item.lab:
            return
        whose = "  (the lab of the part it belongs to)" if item.lab_inherited else ""
        button.label = Text(f"Run the lab: {clean(item.lab)}  (L){whose}")

    @on(Button.Pressed, "#run-lab")
    def _run_lab_pressed(self) -> None:
        self.action_open_lab()

    @on(OptionList.OptionSelected, "#detail-related")
    def _related_chosen(self, event: OptionList.OptionSelected) -> None:
        kind, _, value = (event.option.id or "").partition(":")
        if kind == "url":
            self.app.open_url(self._urls[int(value)])
        elif kind == "term":
            self.app.show_term(value)
        elif kind == "item":
            self.focus_key(value)
        elif kind == "lab":
            self._lab(value)

    # -- actions ---------------------------------------------------------------------------
    def _item_key(self) -> str | None:
        node = self.tree.cursor_node
        key = node.data if node is not None else None
        if key and key in self.app.state.curriculum.items_by_key:
            return key
        self.app.notify("Pick an item (courses and sections have no status of their own).")
        return None

    def action_mark(self, status: str) -> None:
        if self.app.state is None or (key := self._item_key()) is None:
            return
        own = self.app.session.store.status_of(key)
        self.app.set_status(key, "todo" if own == status else status)

    def action_timer(self) -> None:
        if self.app.state is None or (key := self._item_key()) is None:
            return
        self.app.toggle_timer(key)

    def action_edit_note(self) -> None:
        if self.app.state is None or self._item_key() is None:
            return
        self.query_one(NoteEditor).focus()

    def action_focus_tree(self) -> None:
        self.tree.focus()

    def action_open_link(self) -> None:
        if self.app.state is None or (key := self._item_key()) is None:
            return
        item = self.app.state.curriculum.items_by_key[key]
        url = item.url or (item.links[0].url if item.links else None)
        if url:
            self.app.open_url(url)
        else:
            self.app.notify("This item has no link.")

    def action_open_lab(self) -> None:
        if self.app.state is None or (key := self._item_key()) is None:
            return
        lab = self.app.state.curriculum.items_by_key[key].lab
        if lab:
            self._lab(lab)
        else:
            self.app.notify("This item has no lab.")

    def _lab(self, lab: str) -> None:
        if self.app.labs_available():
            self.app.action_labs(lab)
        else:
            self.app.notify(
                clean(f"Labs are not installed here; from a shell: studytui lab run {lab}"), markup=False
            )

    def reload_note(self) -> None:
        """After an undo: show the note as the store now has it."""
        editor = self.query_one(NoteEditor)
        if editor.key:
            editor.load_note(editor.key, self.app.session.store.note(editor.key))
