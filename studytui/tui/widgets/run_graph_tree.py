"""micrograd's expression graph of one neuron after backward(): a text tree, one node a
line with its data and grad (the lecture's draw_dot)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from studytui.tui.widgets.lab_visuals import latest_of_kind, tree_text
from studytui.tui.widgets.run_panel_base import RunPanel, show_text


class GraphTreePanel(RunPanel, Static):
    slot, order, title, panel_id = "side", 50, "expression graph", "graph-tree"
    SCOPED_CSS = False   # the App.-ascii rule below names the app, outside this widget
    DEFAULT_CSS = """
    GraphTreePanel { height: auto; padding: 0 1; border: round $panel-lighten-2; border-title-color: $accent; }
    App.-ascii GraphTreePanel { border: ascii $panel-lighten-2; }
    """

    def show_state(self, watch: Any, now: float) -> None:
        visual = latest_of_kind(watch.state.visuals, "tree")
        self.set_empty(visual is None)
        if visual is not None:
            show_text(self, tree_text(visual.get("root"), self.glyphs))
