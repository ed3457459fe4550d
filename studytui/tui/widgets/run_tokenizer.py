"""The tokenizer lab's panel: the newest merges, as rank, pair -> token, count."""

from __future__ import annotations

from textual.widgets import DataTable

from studytui.runs.format import fmt_value
from studytui.runs import RunWatch

SHOWN_MERGES = 40


class MergesPanel(DataTable):
    """Newest merge first; `text` is the merged token's bytes shown as text by the lab."""

    def on_mount(self) -> None:
        self.add_columns("rank", "pair", "token", "count")
        self.cursor_type = "none"
        self._shown_total = -1

    def show_state(self, watch: RunWatch, now: float) -> None:
        st = watch.state
        self.set_class(not st.merges, "-empty")
        if st.merges_total == self._shown_total:
            return
        self._shown_total = st.merges_total
        self.clear()
        for m in reversed(list(st.merges)[-SHOWN_MERGES:]):
            pair = m.get("pair") or ["?", "?"]
            text = m.get("text")
            token = f"{m.get('token')} {text!r}" if text is not None else str(m.get("token"))
            self.add_row(fmt_value(m.get("rank")), f"{pair[0]} + {pair[1]}", token,
                         fmt_value(m.get("count")))
        done = st.progress.get("done")
        self.border_title = "newest merges" + (f" (of {fmt_value(done)})" if isinstance(done, int) else "")
