"""makemore's latest names, one a cell in columns (the sample event's `names`), instead of
one comma-joined line: reading 20 made-up names is how the lecture judges a model."""

from __future__ import annotations

from typing import Any

from rich.columns import Columns
from rich.console import Group
from rich.text import Text

from studytui.safetext import clean
from studytui.tui.widgets.run_panel_base import BorderedPanel, show

MAX_NAME = 20


class NamesPanel(BorderedPanel):
    slot, order, title, panel_id = "side", 42, "names sampled", "names"

    def show_state(self, watch: Any, now: float) -> None:
        latest = next((s for s in reversed(watch.state.samples) if s.get("names")), None)
        self.set_empty(latest is None)
        if latest is None:
            return
        names = [clean(n).replace("\n", " ")[:MAX_NAME] for n in latest["names"]]
        step = latest.get("step")
        head = Text(f"step {step}" if isinstance(step, int) else "", style="dim")
        body = Columns([Text(n or "(empty)") for n in names], padding=(0, 2), equal=True)
        show(self, Group(head, body), (step, tuple(names)), None)
