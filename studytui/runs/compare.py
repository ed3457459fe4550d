"""Two or more runs side by side: what differs in their settings, their figures with ratios
to the first run, and their loss curves on one chart.

    doc = compare_runs([watch_a, watch_b])   # the JSON of `lab compare --json`
    print(compare_chart([watch_a, watch_b]))
"""

from __future__ import annotations

import math
from typing import Any

from studytui.runs.chart import text_chart
from studytui.runs.report import run_figures
from studytui.runs.watch import RunWatch
from studytui.safetext import clean

RATIO_FIGURES = ("tok_per_s_median", "final_loss", "best_val_loss", "wall_time_s")


def _config_of(watch: RunWatch) -> dict[str, Any]:
    """The run's full config when the lab recorded it, else the settings given."""
    st = watch.state
    resolved = {k: v for k, v in st.resolved.items() if k != "reference"}
    settings = st.config.get("settings") if isinstance(st.config.get("settings"), dict) else {}
    return {**resolved, **settings} if resolved else dict(settings)


def settings_diff(watches: list[RunWatch]) -> dict[str, list[Any]]:
    """Each setting whose value is not the same in every run: {name: [value per run]}."""
    configs = [_config_of(w) for w in watches]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    diff = {}
    for k in keys:
        values = [c.get(k) for c in configs]
        if any(v != values[0] for v in values[1:]):
            diff[k] = values
    return diff


def ratio(value: Any, base: Any) -> float | None:
    if isinstance(value, bool) or isinstance(base, bool):
        return None
    if not isinstance(value, (int, float)) or not isinstance(base, (int, float)) or not base:
        return None
    q = value / base
    return round(q, 4) if math.isfinite(q) else None  # a diverged run's NaN has no ratio


def compare_runs(watches: list[RunWatch]) -> dict[str, Any]:
    runs = []
    base = run_figures(watches[0].state)
    for w in watches:
        figures = run_figures(w.state)
        runs.append(
            {
                "id": w.run_id,
                "lab": w.lab,
                "status": w.status,
                "device": w.state.device,
                "figures": figures,
                "ratios": {k: ratio(figures.get(k), base.get(k)) for k in RATIO_FIGURES},
            }
        )
    return {
        "runs": runs,
        "settings_diff": settings_diff(watches),
        "ratios_to": watches[0].run_id,
        "chart_metric": chart_metric(watches),
    }


def chart_metric(watches: list[RunWatch]) -> str:
    """val_loss when every run has one, else the training loss."""
    return "val_loss" if all(len(w.state.val_loss) for w in watches) else "loss"


def compare_chart(watches: list[RunWatch], *, width: int = 64, height: int = 14) -> str:
    metric = chart_metric(watches)
    series = []
    for w in watches:
        xs, ys = getattr(w.state, metric).xy()
        series.append((clean(w.run_id), xs, ys))
    return f"{metric} by step\n" + text_chart(series, width=width, height=height)
