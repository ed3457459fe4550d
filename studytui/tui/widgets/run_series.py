"""`series` visuals as text charts: makemore's update-to-data ratios over steps (one line
per weight, the lecture's guide at -3) and the attention lab's sweep (time and peak memory
against T). Text charts (studytui.runs.chart): the same picture in ASCII mode and over SSH."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events

from studytui.safetext import clean
from studytui.tui.widgets.lab_visuals import sweep_charts, update_ratio_chart
from studytui.tui.widgets.run_panel_base import BorderedPanel, show_text

MIN_CHART_WIDTH = 24


class SeriesPanel(BorderedPanel):
    slot, order, title, panel_id = "side", 62, "series", "series"

    def show_state(self, watch: Any, now: float) -> None:
        self._watch = watch
        st = watch.state
        named = [(name, v) for name, v in st.visuals.items() if v.get("kind") == "series"]
        self.set_empty(not named)
        if not named:
            return
        # Room for the y labels (about 9 cells) and the panel's own border and padding.
        width = max(MIN_CHART_WIDTH, self.size.width - 14) if self.size.width else 40
        text = Text()
        for i, (name, visual) in enumerate(named[:4]):
            if i:
                text.append("\n\n")
            history = list(st.visual_history.get(name, ()))
            if history:
                text.append(
                    "log10 update/data ratio\n" if name == "update_to_data" else clean(name) + "\n",
                    style="bold",
                )
                text.append(update_ratio_chart(history, width))
            else:
                text.append(
                    f"{clean(name)}"
                    + (f", head_dim {visual['head_dim']}" if isinstance(visual.get("head_dim"), int) else "")
                    + "\n",
                    style="bold",
                )
                text.append(sweep_charts(visual, width))
        show_text(self, text)

    def on_resize(self, event: events.Resize) -> None:
        watch = getattr(self, "_watch", None)
        if watch is not None:
            self._shown_as = (None, None)
            self.show_state(watch, 0.0)
