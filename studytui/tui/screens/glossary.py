"""The glossary: filter terms by name, alias or a near miss; read one; follow see-also
links and the items that teach it. `b` goes back along the terms you followed."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist

from studytui.glossary import fuzzy_terms
from studytui.safetext import clean, link, plain
from studytui.tui.glyphs import status_mark
from studytui.tui.messages import ShowTerm
from studytui.tui.screens.synced import SyncedScreen
from studytui.tui.state import StudyState
from studytui.tui.widgets.status_bar import StatusBar


class GlossaryScreen(SyncedScreen):
    CSS_PATH = "glossary.tcss"
    HELP_SECTION = "Glossary"
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("b", "back", "Back"),
        Binding("o", "open_link", "Open link"),
        Binding("a", "learn_term", "Learn term"),
        Binding("escape", "leave_filter", "List", show=False),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.term_id: str | None = None
        self.history: list[str] = []
        self._urls: list[str] = []

    def compose(self) -> ComposeResult:
        yield StatusBar("glossary")
        with Horizontal(id="gl-body"):
            with Vertical(id="gl-left"):
                yield Input(placeholder="filter terms (/)", id="term-filter")
                yield OptionList(id="term-list")
            with VerticalScroll(id="gl-detail"):
                yield Static("", id="term-title")
                yield Static("", id="term-definition")
                yield Static("See also, taught by, links  (enter)", classes="panel-title")
                yield OptionList(id="term-related")
        yield Footer()

    def on_mount(self) -> None:
        self.ready()
        self.query_one("#term-list", OptionList).focus()

    @on(ShowTerm)
    def _show_term_asked(self, message: ShowTerm) -> None:
        self.show_term(message.term_id)

    def show_waiting(self, message: Text) -> None:
        self.query_one("#term-title", Static).update(message)

    def redraw(self, state: StudyState) -> None:
        self._filter(self.query_one("#term-filter", Input).value)
        if self.term_id:
            self.show_term(self.term_id, remember=False)
        elif state.curriculum.terms:
            self.show_term(state.curriculum.terms[0].id, remember=False)

    @on(Input.Changed, "#term-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self.app.state is not None:
            self._filter(event.value)

    @on(Input.Submitted, "#term-filter")
    def _filter_submitted(self) -> None:
        terms = self.query_one("#term-list", OptionList)
        terms.focus()
        if terms.option_count and terms.get_option_at_index(0).id:
            terms.highlighted = 0
            self.show_term(terms.get_option_at_index(0).id)

    def _filter(self, query: str) -> None:
        cur = self.app.state.curriculum
        terms = self.query_one("#term-list", OptionList)
        terms.clear_options()
        found = fuzzy_terms(cur, query)
        for term in found:
            label = plain(term.term)
            if term.aliases:
                label.append(f"  {clean(', '.join(term.aliases[:2]))}", style="dim")
            terms.add_option(Option(label, id=term.id))
        if not found:
            terms.add_option(Option(Text("no term matches", style="dim"), disabled=True))
        elif self.term_id in {t.id for t in found}:
            terms.highlighted = terms.get_option_index(self.term_id)

    @on(OptionList.OptionHighlighted, "#term-list")
    def _term_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # Filtering rebuilds the list: highlights queued for an older list are stale.
        if event.option_list.highlighted_option is not event.option:
            return
        if event.option.id and event.option.id != self.term_id:
            self.show_term(event.option.id)

    def show_term(self, term_id: str, *, remember: bool = True) -> None:
        state, g = self.app.state, self.app.glyphs
        if state is None:
            return
        cur = state.curriculum
        term = cur.terms_by_id.get(term_id)
        if term is None:
            self.app.notify(clean(f"No glossary term {term_id!r}."), markup=False)
            return
        if remember and self.term_id and self.term_id != term_id:
            self.history.append(self.term_id)
        self.term_id = term_id
        title = plain(term.term, style="bold")
        if self.app.session.store.cards(term.id):
            title.append("  in your review deck", style="green")
        if term.aliases:
            title.append(f"\naka {clean(', '.join(term.aliases))}", style="dim")
        self.query_one("#term-title", Static).update(title)
        self.query_one("#term-definition", Static).update(plain(term.definition or "", multiline=True))
        related = self.query_one("#term-related", OptionList)
        related.clear_options()
        for other in term.see_also:
            t = cur.terms_by_id.get(other)
            related.add_option(
                Option(
                    Text.assemble(("see also ", "magenta"), clean(t.term if t else other)), id=f"term:{other}"
                )
            )
        for key in cur.taught_by.get(term.id, ()):
            item = cur.items_by_key[key]
            related.add_option(
                Option(
                    Text.assemble(
                        ("taught by ", "yellow"),
                        status_mark(g, state.status(key)) + " ",
                        clean(item.title),
                        (f"  {clean(item.course_id)}", "dim"),
                    ),
                    id=f"item:{key}",
                )
            )
        self._urls = [term_link.url for term_link in term.links]
        for n, term_link in enumerate(term.links):
            line = Text.assemble((f"{g.link} ", "cyan"), clean(term_link.title), "  ")
            line.append_text(link(term_link.url, style="dim"))
            related.add_option(Option(line, id=f"url:{n}"))
        if not related.option_count:
            related.add_option(Option(Text("(none)", style="dim"), disabled=True))
        terms = self.query_one("#term-list", OptionList)
        try:
            index = terms.get_option_index(term_id)
        except OptionDoesNotExist:  # filtered out of the list
            index = None
        if index is not None and terms.highlighted != index:
            terms.highlighted = index

    @on(OptionList.OptionSelected, "#term-related")
    def _related_chosen(self, event: OptionList.OptionSelected) -> None:
        kind, _, value = (event.option.id or "").partition(":")
        if kind == "term":
            if self.query_one("#term-filter", Input).value:
                self.query_one("#term-filter", Input).value = ""  # the target may be filtered out
                self._filter("")
            self.show_term(value)
        elif kind == "item":
            self.app.show_item(value)
        elif kind == "url":
            self.app.open_url(self._urls[int(value)])

    def action_focus_filter(self) -> None:
        self.query_one("#term-filter", Input).focus()

    def action_leave_filter(self) -> None:
        self.query_one("#term-list", OptionList).focus()

    def action_learn_term(self) -> None:
        """ "Learn this term": its cards join the review deck (V asks them)."""
        from studytui import review

        if self.term_id is None or self.app.state is None:
            return
        term, added = review.add_term(self.app.session.store, self.app.state.curriculum, self.term_id)
        if added:
            self.app.notify(
                clean(f"{term.term}: {len(added)} card(s) added to your review deck (V)"), markup=False
            )
        else:
            self.app.notify(clean(f"{term.term} is already in your review deck"), markup=False)
        self.show_term(term.id, remember=False)

    def action_back(self) -> None:
        if self.history:
            self.show_term(self.history.pop(), remember=False)
        else:
            self.app.notify("No earlier term.")

    def action_open_link(self) -> None:
        if self._urls:
            self.app.open_url(self._urls[0])
        else:
            self.app.notify("This term has no link.")
