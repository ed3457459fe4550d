"""The loss chart: train and validation loss over steps, with log-scale and smoothing toggles,
and the matching reference run's curve beside them (studytui.runs.reference_curve)."""

from __future__ import annotations

from typing import Any

from textual_plotext import PlotextPlot

from studytui.runs import reference_curve, reference_for_run
from studytui.runs.references import reference_curve_metric
from studytui.tui.glyphs import is_ascii
from studytui.tui.widgets.run_panel_base import RunPanel

SMOOTHING = 0.9  # exponential moving average weight, as TensorBoard's slider
X_TICKS = 5


def whole_step_ticks(lo: float, hi: float, count: int = X_TICKS) -> list[int]:
    """Up to `count` whole steps from lo to hi, evenly spaced on round numbers: plotext's own
    ticks fall between steps (`12.5`), which no training run has."""
    lo_i, hi_i = int(lo), int(-(-hi // 1))
    if hi_i <= lo_i:
        return [lo_i]
    raw = (hi_i - lo_i) / max(count - 1, 1)
    step = min(base * 10**k for base in (1, 2, 5) for k in range(13) if base * 10**k >= raw)
    first = -(-lo_i // step) * step
    return list(range(first, hi_i + 1, step))


def ema(values: list[float], weight: float = SMOOTHING) -> list[float]:
    """Debiased EMA: the first points aren't dragged towards zero."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight**i))
    return out


class LossChart(RunPanel, PlotextPlot):
    """`loss` (train) and `val_loss` (eval) against step. Keys on the run screen toggle
    `log_scale` and `smooth`."""

    slot, order, title, panel_id = "main", 10, "loss", "loss-chart"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.log_scale = False
        self.smooth = False
        self._data: tuple = ([], [], [], [])
        self._reference: tuple = ("", [], [])  # (legend, xs, ys); looked up once the config is known
        self._reference_for: Any = None

    def show_state(self, watch: Any, now: float) -> None:
        xs, ys = watch.state.loss.xy()
        vx, vy = watch.state.val_loss.xy()
        self.set_empty(not xs and not vx)
        reference = self._reference_of(watch)
        data = (xs, ys, vx, vy)
        if data != self._data or reference != self._reference:
            self._data, self._reference = data, reference
            self.replot()

    def _reference_of(self, watch: Any) -> tuple:
        resolved = watch.state.resolved if isinstance(watch.state.resolved, dict) else {}
        key = (watch.lab, repr(resolved))
        if key != self._reference_for:
            self._reference_for = key
            try:
                ref = reference_for_run(watch.lab, resolved) if resolved else None
            except Exception:  # noqa: BLE001 - a damaged reference file: no overlay, the chart still draws
                ref = None
            rx, ry = reference_curve(ref)
            metric = reference_curve_metric(ref) or ""
            legend = "reference " + {"val_loss": "val", "loss": "train"}.get(metric, metric)
            self._reference = (legend, rx, ry) if rx else ("", [], [])
        return self._reference

    def toggle_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self.replot()

    def toggle_smooth(self) -> None:
        self.smooth = not self.smooth
        self.replot()

    def replot(self) -> None:
        xs, ys, vx, vy = self._data
        legend, rx, ry = self._reference
        plt = self.plt
        plt.clear_figure()
        flags = [name for name, on in (("log", self.log_scale), ("smoothed", self.smooth)) if on]
        plt.title("loss" + (f" ({', '.join(flags)})" if flags else ""))
        plt.xlabel("step")
        if self.log_scale and all(v > 0 for v in ys + vy + ry):
            plt.yscale("log")
        # Braille dots are Unicode; ASCII mode plots with a character every terminal has.
        marker = "*" if is_ascii(self.glyphs) else "braille"
        if xs:
            plt.plot(xs, ema(ys) if self.smooth else ys, label="train", marker=marker)
        if vx:
            plt.plot(vx, vy, label="val", marker=marker)
        if rx and (xs or vx):
            # Only as far as the run has come (plus a little): the whole reference would squash
            # a young run's curve into the chart's left edge.
            reach = max(xs + vx) * 1.1
            shown = [(x, y) for x, y in zip(rx, ry) if x <= reach] or [(rx[0], ry[0])]
            plt.plot(
                [x for x, _ in shown],
                [y for _, y in shown],
                label=legend,
                marker="." if is_ascii(self.glyphs) else "dot",
                color="gray",
            )
        if xs or vx:
            all_x = xs + vx
            ticks = whole_step_ticks(min(all_x), max(all_x))
            plt.xticks(ticks, [str(t) for t in ticks])
        self.refresh()
