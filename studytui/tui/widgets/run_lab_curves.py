"""A lab's own step figure over steps, beside the loss chart: micrograd's training
accuracy (the lecture's run reaches 100%)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events

from studytui.runs.chart import text_chart
from studytui.tui.widgets.run_panel_base import BorderedPanel, show_text

CURVES = ("accuracy",)  # the lab step keys drawn here, when a run sends them
MIN_CHART_WIDTH = 20


class LabCurvesPanel(BorderedPanel):
    slot, order, title, panel_id = "side", 15, "accuracy", "lab-curves"

    def show_state(self, watch: Any, now: float) -> None:
        self._watch = watch
        curves = [(key, watch.state.lab_series[key]) for key in CURVES if key in watch.state.lab_series]
        self.set_empty(not curves)
        if not curves:
            return
        width = max(MIN_CHART_WIDTH, self.size.width - 14) if self.size.width else 36
        text = Text()
        for key, series in curves:
            xs, ys = series.xy()
            text.append(f"{key} {ys[-1]:.1%}" if key == "accuracy" else f"{key} {ys[-1]:.4g}", style="bold")
            text.append(f"  best {max(ys):.1%}\n" if key == "accuracy" else "\n", style="dim")
            text.append(text_chart([(key, xs, ys)], width=width, height=6))
        show_text(self, text)

    def on_resize(self, event: events.Resize) -> None:
        watch = getattr(self, "_watch", None)
        if watch is not None:
            self._shown_as = (None, None)
            self.show_state(watch, 0.0)
