"""micrograd's expression graph of one neuron after backward(): a text tree, one node a
line with its data and grad (the lecture's draw_dot)."""

from __future__ import annotations

from typing import Any

from studytui.tui.widgets.lab_visuals import latest_of_kind, tree_text
from studytui.tui.widgets.run_panel_base import BorderedPanel, show_text


class GraphTreePanel(BorderedPanel):
    slot, order, title, panel_id = "side", 50, "expression graph", "graph-tree"

    def show_state(self, watch: Any, now: float) -> None:
        visual = latest_of_kind(watch.state.visuals, "tree")
        self.set_empty(visual is None)
        if visual is not None:
            show_text(self, tree_text(visual.get("root"), self.glyphs))
