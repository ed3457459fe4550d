"""The loss chart: train and validation loss over steps, with log-scale and smoothing toggles."""

from __future__ import annotations

from typing import Any

from textual_plotext import PlotextPlot

from studytui.tui.glyphs import is_ascii
from studytui.tui.widgets.run_panel_base import RunPanel

SMOOTHING = 0.9   # exponential moving average weight, as TensorBoard's slider


def ema(values: list[float], weight: float = SMOOTHING) -> list[float]:
    """Debiased EMA: the first points aren't dragged towards zero."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** i))
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

    def show_state(self, watch: Any, now: float) -> None:
        xs, ys = watch.state.loss.xy()
        vx, vy = watch.state.val_loss.xy()
        self.set_empty(not xs and not vx)
        data = (xs, ys, vx, vy)
        if data != self._data:
            self._data = data
            self.replot()

    def toggle_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self.replot()

    def toggle_smooth(self) -> None:
        self.smooth = not self.smooth
        self.replot()

    def replot(self) -> None:
        xs, ys, vx, vy = self._data
        plt = self.plt
        plt.clear_figure()
        flags = [name for name, on in (("log", self.log_scale), ("smoothed", self.smooth)) if on]
        plt.title("loss" + (f" ({', '.join(flags)})" if flags else ""))
        plt.xlabel("step")
        if self.log_scale and all(v > 0 for v in ys + vy):
            plt.yscale("log")
        # Braille dots are Unicode; ASCII mode plots with a character every terminal has.
        marker = "*" if is_ascii(self.glyphs) else "braille"
        if xs:
            plt.plot(xs, ema(ys) if self.smooth else ys, label="train", marker=marker)
        if vx:
            plt.plot(vx, vy, label="val", marker=marker)
        self.refresh()
