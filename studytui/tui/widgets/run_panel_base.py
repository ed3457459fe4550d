"""The run view's panels, found by kind: every panel subclasses `RunPanel` and says where
it goes (`slot`), in what order, under what title. The run view composes whatever is
registered, so a visual for a new lab is one new `studytui/tui/widgets/run_*.py` module
holding one `RunPanel` subclass, and nothing else changes.

Each panel has `show_state(watch, now)`; the run view calls it on every `RunEvents` from
the app's run monitor, so panels never read files themselves. A panel with nothing to show
hides itself (class `-empty`), so one screen suits every lab.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, ClassVar

from rich.text import Text
from textual.widgets import Static

from studytui.tui.glyphs import UNICODE, Glyphs

SLOTS = ("header", "main", "side", "bottom")
_REGISTRY: list[type["RunPanel"]] = []


class RunPanel:
    """Mixin for a run-view panel; subclasses with a `slot` are registered."""

    slot: ClassVar[str] = ""
    order: ClassVar[int] = 50
    title: ClassVar[str] = ""  # the border title ("" for none)
    panel_id: ClassVar[str] = ""  # the widget id the stylesheet uses
    focusable_results: ClassVar[bool] = False  # shown in the run view's results view

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("slot"):
            assert cls.slot in SLOTS, f"{cls.__name__}: unknown slot {cls.slot!r}"
            _REGISTRY.append(cls)

    def set_empty(self, empty: bool) -> None:
        self.set_class(empty, "-empty")  # type: ignore[attr-defined]

    @property
    def glyphs(self) -> Glyphs:
        return getattr(self.app, "glyphs", UNICODE)  # type: ignore[attr-defined]

    def show_state(self, watch: Any, now: float) -> None:
        raise NotImplementedError


class BorderedPanel(RunPanel, Static):
    """A panel of text in a rounded border (plain ASCII in ASCII mode), as most lab visuals are."""

    SCOPED_CSS = False  # the App.-ascii rule names the app, outside this widget
    DEFAULT_CSS = """
    BorderedPanel { height: auto; padding: 0 1; border: round $panel-lighten-2; border-title-color: $accent; }
    App.-ascii BorderedPanel { border: ascii $panel-lighten-2; }
    """


def panels_for(slot: str) -> list[type[RunPanel]]:
    """The registered panels of one slot, in order (every run_* widget module loaded)."""
    _load_panel_modules()
    return sorted((p for p in _REGISTRY if p.slot == slot), key=lambda p: (p.order, p.__name__))


def _load_panel_modules() -> None:
    import studytui.tui.widgets as widgets

    for module in pkgutil.iter_modules(widgets.__path__):
        if module.name.startswith("run_"):
            importlib.import_module(f"studytui.tui.widgets.{module.name}")


def show(widget: Any, content: Any, key: Any, lines: int | None) -> None:
    """Update a Static only when `key` (what it shows) changed, and lay the screen out
    again only when its height (`lines`; None: unknown) changed. A layout pass costs tens of ms: once a
    second on a 2-core machine, that is CPU taken from the training run being watched
    (bench/bench_watch.py measures it)."""
    last_key, last_lines = getattr(widget, "_shown_as", (None, None))
    if last_key is not None and key == last_key:
        return
    widget.update(content, layout=last_key is None or lines is None or lines != last_lines)
    widget._shown_as = (key, lines)


def show_text(widget: Any, text: Text) -> None:
    show(widget, text, text.plain, text.plain.count("\n"))
