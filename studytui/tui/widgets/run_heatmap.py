"""Heat maps with labels on both axes: makemore's 27x27 bigram counts (then the
probabilities), an attention map over a prompt's tokens.

Scrollable (an attention map over 48 tokens is wider than 80 columns), shown in the
results view (`v`), and `h` (when the panel has focus) steps through the heat maps a run sent.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.widgets import Static

from studytui.safetext import clean
from studytui.tui.widgets.lab_visuals import heatmap_text
from studytui.tui.widgets.run_panel_base import RunPanel, show

OTHERS_SHOWN = 3


class HeatmapPanel(RunPanel, ScrollableContainer):
    slot, order, title, panel_id = "main", 14, "heat map (h: next)", "heatmap-panel"
    focusable_results = True
    can_focus = True
    BINDINGS = [Binding("h", "next_heatmap", "Next heat map")]
    SCOPED_CSS = False  # the App.-ascii rule below names the app, outside this widget
    DEFAULT_CSS = """
    HeatmapPanel { height: 1fr; min-height: 8; padding: 0 1; border: round $panel-lighten-2;
                   border-title-color: $accent; }
    HeatmapPanel:focus { border: round $accent; }
    App.-ascii HeatmapPanel { border: ascii $panel-lighten-2; }
    HeatmapPanel > Static { width: auto; height: auto; }
    """

    _watch: Any = None
    shown_index = 0  # the first heat map sent is the lecture's figure: it comes first

    def compose(self) -> ComposeResult:
        yield Static(id="heatmap-text")

    def show_state(self, watch: Any, now: float) -> None:
        self._watch = watch
        heatmaps = [v for v in watch.state.visuals.values() if v.get("kind") == "heatmap"]
        self.set_empty(not heatmaps)
        if not heatmaps:
            return
        shown = heatmaps[self.shown_index % len(heatmaps)]
        text = heatmap_text(shown, self.glyphs, width=max(self.size.width - 2, 40))
        others = [str(v.get("name")) for v in heatmaps if v is not shown][:OTHERS_SHOWN]
        if others:
            text.append("\nalso sent (h): " + clean(", ".join(others)), style="dim")
        # Laid out again on any change: the width picks one or two cells per value.
        show(self.query_one("#heatmap-text", Static), text, text.plain, None)

    def action_next_heatmap(self) -> None:
        self.shown_index += 1
        self._show_again()

    def on_resize(self, event: events.Resize) -> None:
        self._show_again()

    def _show_again(self) -> None:
        if self._watch is not None:
            self.show_state(self._watch, 0.0)
