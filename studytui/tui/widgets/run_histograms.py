"""makemore part 3's diagnostics: activation and gradient histograms per layer, one line
each (mean, std, tanh saturation, the distribution as a strip of shades)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from studytui.tui.widgets.lab_visuals import histogram_lines
from studytui.tui.widgets.run_panel_base import RunPanel, show_text


class HistogramsPanel(RunPanel, Static):
    slot, order, title, panel_id = "side", 60, "activations and gradients", "histograms"
    SCOPED_CSS = False   # the App.-ascii rule below names the app, outside this widget
    DEFAULT_CSS = """
    HistogramsPanel { height: auto; padding: 0 1; border: round $panel-lighten-2; border-title-color: $accent; }
    App.-ascii HistogramsPanel { border: ascii $panel-lighten-2; }
    """

    def show_state(self, watch: Any, now: float) -> None:
        visuals = [v for v in watch.state.visuals.values() if v.get("kind") == "histograms"]
        self.set_empty(not visuals)
        text = Text()
        for i, visual in enumerate(visuals[:4]):
            if i:
                text.append("\n\n")
            text.append_text(histogram_lines(visual, self.glyphs))
        show_text(self, text)
