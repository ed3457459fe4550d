"""micrograd's decision boundary, redrawn each time the lab sends a new `grid` visual
(every `boundary_every` steps): the region the MLP calls +1 shaded, the two moons on top."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from studytui.tui.widgets.lab_visuals import boundary_text, latest_of_kind
from studytui.tui.widgets.run_panel_base import RunPanel, show_text


class BoundaryPanel(RunPanel, Static):
    slot, order, title, panel_id = "main", 12, "decision boundary", "boundary"
    SCOPED_CSS = False   # the App.-ascii rule below names the app, outside this widget
    DEFAULT_CSS = """
    BoundaryPanel { height: auto; padding: 0 1; border: round $panel-lighten-2; border-title-color: $accent; }
    App.-ascii BoundaryPanel { border: ascii $panel-lighten-2; }
    """

    def show_state(self, watch: Any, now: float) -> None:
        visual = latest_of_kind(watch.state.visuals, "grid")
        self.set_empty(visual is None)
        if visual is not None:
            show_text(self, boundary_text(visual, self.glyphs))

