"""The token viewer: type text and see it cut by GPT-2, GPT-4 (cl100k_base) and a tokenizer
you trained.

The app never imports a lab: a helper process (`python -m labs.tokenizer.viewer`) does the
encoding. Neighbouring tokens always differ in colour, with colours from the 16 every
terminal has (so 256- and 16-colour terminals keep them apart); ASCII mode also puts a `|`
between tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Select, Static

from studytui.runs.token_client import TokenizerClient, TokenizerServerError
from studytui.safetext import clean, plain
from studytui.session import Session
from studytui.tui.glyphs import UNICODE, Glyphs
from studytui.tui.widgets.status_bar import StatusBar
from studytui.tui.workers import ReportsWorkerFailures

CSS_FILE = str(Path(__file__).with_name("labs.tcss"))
TRAINED_MODEL = "tokenizer.model"
BUILTIN_ENCODINGS = ("gpt2", "cl100k_base")
# Four of the 16 ANSI colours, black text on each: a 16-colour terminal shows them as its
# own four distinct colours, and a 256-colour one exactly; none of them is near another.
TOKEN_STYLES = (
    "black on bright_cyan",
    "black on bright_yellow",
    "black on bright_green",
    "black on bright_magenta",
)


def trained_tokenizers(runs_dir: Path) -> list[tuple[str, Path]]:
    """(run id, model file) for every tokenizer run that saved a model, newest first."""
    if not runs_dir.is_dir():
        return []
    found = [(d.name, d / TRAINED_MODEL) for d in runs_dir.iterdir() if (d / TRAINED_MODEL).is_file()]
    return sorted(found, key=lambda x: x[1].stat().st_mtime, reverse=True)


def token_text(piece: bytes, g: Glyphs = UNICODE) -> str:
    """A token's bytes as visible text: control characters shown, split UTF-8 as \\xNN."""
    text = piece.decode("utf-8", errors="backslashreplace")
    text = text.replace("\n", g.newline).replace("\t", g.tab).replace("\r", g.carriage_return)
    return clean(text)


def coloured_tokens(pieces: list[bytes], g: Glyphs = UNICODE) -> Text:
    out = Text()
    for i, piece in enumerate(pieces):
        if i and g.token_sep:
            out.append(g.token_sep, style="dim")
        out.append(token_text(piece, g), style=TOKEN_STYLES[i % len(TOKEN_STYLES)])
    return out


class TokenViewerScreen(ReportsWorkerFailures, Screen):
    """Type text; see it cut into tokens (with ids) by GPT-2, GPT-4 and your own tokenizer."""

    CSS_PATH = CSS_FILE
    HELP_SECTION = "Token viewer"
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(
        self, session: Session, model: Path | None = None, *, client: TokenizerClient | None = None, **kwargs
    ):
        super().__init__(**kwargs)
        self.session = session
        self.model = model
        self.client = client or TokenizerClient()

    @property
    def glyphs(self) -> Glyphs:
        return getattr(self.app, "glyphs", UNICODE)

    def compose(self) -> ComposeResult:
        yield StatusBar("labs")
        yield Static("Token viewer: type, and see how each tokenizer cuts the text.", classes="section-title")
        yield Input(placeholder="type some text", id="tv-input")
        yield Select([], prompt="trained tokenizer (a tokenizer run)", id="tv-model")
        yield VerticalScroll(id="tv-results")
        yield Footer()

    def on_mount(self) -> None:
        models = trained_tokenizers(self.session.runs_dir)
        select = self.query_one("#tv-model", Select)
        select.set_options([(plain(run_id), str(path)) for run_id, path in models])
        chosen = self.model or (models[0][1] if models else None)
        if chosen is not None and any(str(p) == str(chosen) for _, p in models):
            select.value = str(chosen)
        self.query_one("#tv-input", Input).focus()

    def tokenizer_names(self) -> list[str]:
        value = self.query_one("#tv-model", Select).value
        extra = [str(value)] if isinstance(value, str) else []
        return list(BUILTIN_ENCODINGS) + extra

    @on(Input.Changed, "#tv-input")
    @on(Select.Changed, "#tv-model")
    def _text_changed(self) -> None:
        text = self.query_one("#tv-input", Input).value
        self._encode(text, self.tokenizer_names())

    @work(thread=True, exit_on_error=False, group="encode", name="the tokenizer helper")
    def _encode(self, text: str, names: list[str]) -> None:
        try:
            results: Any = self.client.encode(text, names)
        except TokenizerServerError as e:
            results = str(e)
        try:
            self.app.call_from_thread(self._show, text, results)
        except RuntimeError:
            pass  # the app is shutting down

    async def _show(self, text: str, results: Any) -> None:
        if not self.is_attached or text != self.query_one("#tv-input", Input).value:
            return  # an answer for text the user has since changed (or a closed screen)
        box = self.query_one("#tv-results", VerticalScroll)
        await box.remove_children()
        if isinstance(results, str):
            await box.mount(Static(plain(results, style="bold red")))
            return
        g = self.glyphs
        widgets = []
        for r in results:
            title = r.name if r.name in BUILTIN_ENCODINGS else f"trained: {Path(r.name).parent.name}"
            if r.error:
                widgets.append(
                    Static(
                        Text.assemble((clean(title), "bold"), "  ", (clean(r.error), "red")),
                        classes="tv-result",
                    )
                )
                continue
            ratio = f"  {g.sep}  {len(text.encode()) / len(r.ids):.2f} bytes/token" if r.ids else ""
            body = Text.assemble((clean(title), "bold"), f"  {len(r.ids)} tokens{ratio}\n")
            body.append_text(coloured_tokens(r.tokens, g))
            body.append("\n" + " ".join(map(str, r.ids)), style="dim")
            widgets.append(Static(body, classes="tv-result"))
        await box.mount_all(widgets)

    def on_unmount(self) -> None:
        self.client.close()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
