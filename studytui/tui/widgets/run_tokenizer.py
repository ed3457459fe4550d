"""The tokenizer lab's panel: the newest merges, as rank, pair -> token, count."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from studytui.runs.format import fmt_value
from studytui.safetext import plain
from studytui.tui.widgets.run_panel_base import RunPanel

SHOWN_MERGES = 40


class MergesPanel(RunPanel, DataTable):
    """Newest merge first; `text` is the merged token's bytes shown as text by the lab."""

    slot, order, title, panel_id = "main", 20, "merges", "merges"

    def on_mount(self) -> None:
        self.add_columns("rank", "pair", "token", "count")
        self.cursor_type = "none"
        self._shown_total = -1

    def show_state(self, watch: Any, now: float) -> None:
        st = watch.state
        self.set_empty(not st.merges)
        if st.merges_total == self._shown_total:
            return
        self._shown_total = st.merges_total
        self.clear()
        for m in reversed(list(st.merges)[-SHOWN_MERGES:]):
            pair = m.get("pair") if isinstance(m.get("pair"), list) and len(m["pair"]) == 2 else ["?", "?"]
            text = m.get("text")
            token = f"{m.get('token')} {text!r}" if text is not None else str(m.get("token"))
            self.add_row(
                plain(fmt_value(m.get("rank"))),
                plain(f"{pair[0]} + {pair[1]}"),
                plain(token),
                plain(fmt_value(m.get("count"))),
            )
        done = st.progress.get("done")
        self.border_title = "newest merges" + (f" (of {fmt_value(done)})" if isinstance(done, int) else "")
