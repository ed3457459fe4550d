"""makemore part 3's diagnostics: activation and gradient histograms per layer, one line
each (mean, std, tanh saturation, the distribution as a strip of shades)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from studytui.tui.widgets.lab_visuals import histogram_lines
from studytui.tui.widgets.run_panel_base import BorderedPanel, show_text


class HistogramsPanel(BorderedPanel):
    slot, order, title, panel_id = "side", 60, "activations and gradients", "histograms"

    def show_state(self, watch: Any, now: float) -> None:
        visuals = [v for v in watch.state.visuals.values() if v.get("kind") == "histograms"]
        self.set_empty(not visuals)
        text = Text()
        for i, visual in enumerate(visuals[:4]):
            if i:
                text.append("\n\n")
            text.append_text(histogram_lines(visual, self.glyphs))
        show_text(self, text)
