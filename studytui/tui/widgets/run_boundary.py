"""micrograd's decision boundary, redrawn each time the lab sends a new `grid` visual
(every `boundary_every` steps): the region the MLP calls +1 shaded, the two moons on top."""

from __future__ import annotations

from typing import Any

from studytui.tui.widgets.lab_visuals import boundary_text, latest_of_kind
from studytui.tui.widgets.run_panel_base import BorderedPanel, show_text


class BoundaryPanel(BorderedPanel):
    slot, order, title, panel_id = "main", 12, "decision boundary", "boundary"

    def show_state(self, watch: Any, now: float) -> None:
        visual = latest_of_kind(watch.state.visuals, "grid")
        self.set_empty(visual is None)
        if visual is not None:
            show_text(self, boundary_text(visual, self.glyphs))
