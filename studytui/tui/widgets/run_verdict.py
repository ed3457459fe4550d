"""Under the run's header: which published figure the run reproduces, and whether it is on
track against its reference run, live and at the end (studytui.runs.verdict).

    reproduces  nanoGPT README: the baby GPT on a laptop CPU ... (val 1.88)
    verdict     val 2.31 at step 600, reference 2.28: on track
    at the end  your best val 1.893 beside the published 1.88

Config text comes from the run folder: shown cleaned, as plain text.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from studytui.runs import verdict_for_run
from studytui.runs.format import fmt_value
from studytui.safetext import clean
from studytui.tui.widgets.run_panel_base import RunPanel, show_text

VERDICT_STYLE = {
    "on track": "green",
    "ahead": "bold green",
    "behind": "yellow",
    "diverging": "bold red",
    "diverged": "bold red",
}


def published_reference(resolved: Any) -> dict[str, Any] | None:
    """The start event's `config.reference` (the GPT lab's presets carry one), or None."""
    ref = resolved.get("reference") if isinstance(resolved, dict) else None
    if not isinstance(ref, dict) or not isinstance(ref.get("val_loss"), (int, float)):
        return None
    return ref


def verdict_lines(watch: Any) -> Text:
    """The panel's text for one run: empty when there is nothing to compare with."""
    state = watch.state
    out = Text()
    ref = published_reference(state.resolved)
    if ref is not None:
        differs = [clean(d) for d in ref["differs"]] if isinstance(ref.get("differs"), list) else []
        out.append("reproduces  ", style="dim")
        out.append(clean(ref.get("source") or "a published figure"))
        out.append(f" (val {fmt_value(ref['val_loss'])})", style="bold")
        if differs:
            out.append(f"; for other settings: {', '.join(differs)} differ", style="yellow")
    try:
        judged, _ = verdict_for_run(watch.lab, state)
    except Exception:  # noqa: BLE001 - a damaged reference file must not keep the run view from drawing
        judged = None
    if judged is not None and judged.status != "no reference":
        out.append("\n" if out else "")
        out.append("verdict     ", style="dim")
        out.append(clean(judged.text), style=VERDICT_STYLE.get(judged.status, ""))
    if ref is not None and state.ended:
        best = state.best.get("val_loss")
        mine = best[1] if best else (state.summary or {}).get("best_val_loss")
        if isinstance(mine, (int, float)):
            out.append("\nat the end  ", style="dim")
            out.append(f"your best val {fmt_value(mine)}", style="bold")
            out.append(f" beside the published {fmt_value(ref['val_loss'])}")
    return out


class VerdictPanel(RunPanel, Static):
    slot, order, panel_id = "header", 10, "run-verdict"

    def show_state(self, watch: Any, now: float) -> None:
        text = verdict_lines(watch)
        self.set_empty(not text.plain)
        show_text(self, text)
