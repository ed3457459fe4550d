"""Every key, by screen. The footer shows the common ones; this shows them all."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = {
    "Everywhere": [
        ("d c g r", "desk, curriculum, glossary, reading list"),
        ("l", "labs (start a run, watch runs); d c g r leave them, l comes back"),
        ("ctrl+p", "search everything: items, terms, commands"),
        ("V", "review the glossary cards due now"),
        ("u", "undo the last change (status, note, logged time)"),
        ("? / f1", "this help"),
        ("tab / shift+tab", "next / previous pane"),
        ("q / ctrl+q", "quit (the note and the timer are saved)"),
    ],
    "Desk": [
        ("enter", "open the course or item under the cursor"),
    ],
    "Curriculum": [
        ("up/down, enter/space", "move, open or close a branch"),
        ("x / i / s", "toggle done / doing / skipped (again: back to todo)"),
        ("t", "start or stop the study timer on this item"),
        ("n", "edit the note (saved as you type); esc: back to the tree"),
        ("o", "open the item's link"),
        ("L", "run the item's lab (its own or its part's) in the labs"),
        ("tab, enter", "links, glossary terms, prerequisites, lab"),
    ],
    "Glossary": [
        ("/", "filter terms (names, aliases, near misses)"),
        ("enter", "follow a see-also or an item that teaches the term"),
        ("b", "back to the previous term"),
        ("o", "open the term's first link"),
        ("a", "learn this term: its cards join your review deck (V)"),
    ],
    "Review": [
        ("space", "show the answer (and the interval each grade would give)"),
        ("1 2 3 4", "grade: again, hard, good, easy"),
        ("u", "take back the last grade"),
        ("s / f", "suspend the card / flag it"),
        ("esc", "end the session (its summary), again: back to the desk"),
    ],
    "Reading list": [
        ("a", "add a link (url, title, kind, tags)"),
        ("x / i", "archive / back to the inbox"),
        ("m", "move into a course"),
        ("o", "open the link"),
        ("f", "inbox, archive, in courses, all"),
        ("delete", "delete the entry (u undoes nothing here: it asks first)"),
    ],
    "Labs": [
        ("up/down", "pick a lab; its main settings show below, the rest under advanced"),
        (
            "filter",
            "type part of a setting's name in the filter line to find it; empty fields use the preset's value",
        ),
        ("ctrl+r", "start a run with the settings shown"),
        ("ctrl+o / ctrl+l", "jump to the runs table / the lab list (even from a setting)"),
        ("enter", "open the run under the cursor (the run view)"),
        ("t", "the token viewer"),
        ("esc", "back to the desk"),
    ],
    "Run view": [
        ("v", "results view: the result tables get the whole left side (tab to scroll them)"),
        ("l / m", "loss chart: log scale / smoothing"),
        ("h", "the next heat map a run sent (with the heat map focused: tab, or v)"),
        ("s", "stop the run (it saves a checkpoint first)"),
        ("t", "the token viewer, on this run's tokenizer"),
        ("esc", "back to the labs screen"),
    ],
    "Token viewer": [
        ("type", "see the text cut by gpt2, cl100k_base and a tokenizer you trained"),
        ("tab", "choose the trained tokenizer"),
        ("esc", "back"),
    ],
}

SSH_NOTE = (
    "Over SSH, o shows the link as a clickable terminal hyperlink and copies it to your "
    "clipboard (OSC 52). STUDYTUI_ASCII=1 (or ctrl+p > ASCII) draws plain ASCII symbols."
)


def keys_table(context: str = "") -> Table:
    """Every section; the one for the screen the help was opened on comes first (after
    "Everywhere"), marked "(this screen)"."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    order = sorted(KEYS, key=lambda name: (name != "Everywhere", name != context))
    for section in order:
        title = Text(section, style="bold underline")
        if section == context:
            title.append(" (this screen)", style="bold")
        table.add_row(title, "")
        for key, what in KEYS[section]:
            table.add_row(Text(key), Text(what))
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    #help-box { width: 90; max-width: 100%; height: 90%; border: thick $primary;
                background: $surface; padding: 0 1; }
    """

    def __init__(self, context: str = ""):
        super().__init__()
        self.context = context

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(keys_table(self.context))
            yield Static(SSH_NOTE, classes="hint")
            yield Static("esc: close", classes="hint")

    def action_dismiss(self) -> None:
        self.dismiss(None)
