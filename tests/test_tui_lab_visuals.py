"""The run-view panels for the micrograd / makemore / attention labs' `visual` events.

Driven by canned run folders written here (config.json + a metrics.jsonl by hand): no torch,
no lab process. The drawing functions are tested on their own, then the panels in the run view.
"""

from __future__ import annotations

import json
import math

import pytest
from rich.console import Console
from test_tui_labs import Harness, sync, text_of, until, until_shown
from textual.widgets import Static

from labs.protocol import new_run_id
from studytui.runs.events import RunState
from studytui.tui.glyphs import ASCII, UNICODE
from studytui.tui.screens.run_view import RunScreen
from studytui.tui.widgets.lab_visuals import (
    boundary_text,
    heatmap_text,
    histogram_lines,
    sweep_charts,
    tree_text,
    update_ratio_chart,
)

CHARS = list(".abcdefghijklmnopqrstuvwxyz")
HOSTILE = "[bold red]x[/]\x1b]52;c;aGk=\x07\x1b[2J\u202e"


def leaf(name, data, grad):
    return {"name": name, "op": "", "formula": "", "data": data, "grad": grad, "children": []}


# The lecture's neuron after backward() (micrograd video): o = tanh(x1*w1 + x2*w2 + b).
NEURON = {
    "name": "o",
    "op": "tanh",
    "formula": "tanh(n)",
    "data": 0.7071,
    "grad": 1.0,
    "children": [
        {
            "name": "n",
            "op": "+",
            "formula": "x1*w1 + x2*w2 + b",
            "data": 0.8814,
            "grad": 0.5,
            "children": [
                {
                    "name": "x1*w1",
                    "op": "*",
                    "formula": "x1*w1",
                    "data": -6.0,
                    "grad": 0.5,
                    "children": [leaf("x1", 2.0, -1.5), leaf("w1", -3.0, 1.0)],
                },
                leaf("b", 6.8814, 0.5),
                {"name": "x1", "ref": True},
            ],
        }
    ],
}


def grid_visual(step: int, flip: bool = False) -> dict:
    # 4 rows x 6 columns over [0, 6] x [0, 4]: the right half says +1 (the left half when flipped).
    values = [[(1.0 if c >= 3 else -1.0) * (-1 if flip else 1) for c in range(6)] for _ in range(4)]
    return {
        "v": 1,
        "event": "visual",
        "kind": "grid",
        "name": "decision_boundary",
        "step": step,
        "x_range": [0, 6],
        "y_range": [0, 4],
        "values": values,
        "points": [[4.5, 2.5, 1], [0.5, 0.5, -1], [1.5, 3.5, 1]],
    }


def counts_visual(name: str = "bigram_counts") -> dict:
    values = [[(i * 7 + j * 3) % 50 for j in range(27)] for i in range(27)]
    values[1][2] = 4000
    return {
        "v": 1,
        "event": "visual",
        "kind": "heatmap",
        "name": name,
        "title": "bigram counts",
        "row_labels": CHARS,
        "col_labels": CHARS,
        "values": values,
    }


def render(text, width: int = 200) -> str:
    console = Console(width=width, record=True, file=None, color_system=None)
    with console.capture() as capture:
        console.print(text)
    return capture.get()


# -- the drawing functions ------------------------------------------------------------------
def test_tree_shows_each_node_with_data_and_grad():
    shown = render(tree_text(NEURON, UNICODE))
    lines = shown.splitlines()
    assert lines[0].startswith("o = tanh(n)  data 0.7071  grad 1.0000")
    assert "└─ n = x1*w1 + x2*w2 + b  data 0.8814  grad 0.5000" in shown
    assert "│  ├─ x1  data 2.0000  grad -1.5000" in shown  # under x1*w1, beside b's branch
    assert "x1 (above)" in shown
    ascii_shown = render(tree_text(NEURON, ASCII))
    assert ascii_shown.isascii() and "`- n = x1*w1" in ascii_shown


def test_a_deep_or_huge_tree_is_capped_not_recursed():
    node = leaf("x0", 1.0, 1.0)
    for i in range(1, 5000):
        node = {"name": f"x{i}", "op": "+", "formula": "", "data": 1.0, "grad": 0.0, "children": [node]}
    shown = render(tree_text(node, ASCII))
    assert "more below" in shown and len(shown.splitlines()) < 60


def test_heatmap_labels_both_axes_and_shades_with_the_glyph_table():
    text = heatmap_text(counts_visual(), ASCII, width=80)
    lines = render(text).splitlines()
    assert lines[0] == "bigram counts"
    assert lines[1].split() == CHARS  # the column labels
    assert [line[:1] for line in lines[2:29]] == CHARS  # the row labels
    assert len(lines[2]) == 2 + 2 * 27  # two cells per value at 80 columns
    assert set("".join(line[2:] for line in lines[2:29])) <= set(ASCII.heat)
    assert lines[3][2 + 2 * 2 : 2 + 2 * 3] == ASCII.heat[4] * 2  # a->b, the largest count
    assert lines[2][2:4] == ASCII.heat[0] * 2  # a zero count
    assert "log scale" in lines[-1]
    narrow = render(heatmap_text(counts_visual(), UNICODE, width=40)).splitlines()
    assert len(narrow[2]) == 2 + 27  # one cell per value when narrow


def test_boundary_shades_the_plus_region_and_marks_wrong_points():
    lines = render(boundary_text(grid_visual(10), ASCII)).splitlines()
    assert len(lines) == 5 and all(len(line) == 12 for line in lines[:4])
    assert lines[2] == "      " + ASCII.heat[1] * 6  # -1 left blank, +1 shaded
    assert "x" in lines[1][6:]  # (4.5, 2.5) +1 in the +1 region
    assert "o" in lines[3][:6]  # (0.5, 0.5) -1 in the -1 region
    assert "X" in lines[0][:6]  # (1.5, 3.5) +1 in the -1 region: wrong
    assert "wrong (1)" in lines[4] and "step 10" in lines[4]


def test_histograms_and_series_charts():
    hist = {
        "kind": "histograms",
        "name": "activations",
        "step": 1000,
        "layers": [
            {
                "name": "Tanh 1",
                "mean": -0.02,
                "std": 0.65,
                "saturated": 0.045,
                "lo": -1,
                "hi": 1,
                "counts": [30, 5, 2, 1, 1, 2, 5, 30],
            }
        ],
    }
    line = render(histogram_lines(hist, ASCII)).splitlines()
    assert line[0] == "activations at step 1000"
    assert (
        "Tanh 1" in line[1] and "mean -0.020" in line[1] and "std +0.650" in line[1] and "sat 4%" in line[1]
    )
    assert line[2].startswith(f"  {ASCII.heat[4]}{ASCII.heat[1]}") and line[2].endswith("[-1, 1]")
    history = [{"step": s, "values": {"W1": -2.5 - s / 1000, "W2": -3.5}} for s in (1000, 2000, 3000)]
    chart = update_ratio_chart(history, width=40)
    assert "W1" in chart and "W2" in chart and "-3 (rule of thumb)" in chart
    sweep = {
        "x": [128, 256, 512],
        "lines": {
            "manual ms": [0.3, 2.3, 71],
            "sdpa ms": [0.27, 0.9, 24],
            "manual peak_mb": [1.4, 3.0, 13.1],
            "sdpa peak_mb": [0.4, 0.4, 0.5],
        },
    }
    charts = sweep_charts(sweep, width=40)
    assert "time, log10 ms" in charts and "peak memory, log10 MB" in charts and "manual" in charts


@pytest.mark.parametrize(
    "visual",
    [
        {
            "kind": "heatmap",
            "name": HOSTILE,
            "title": HOSTILE,
            "row_labels": [HOSTILE, 5, None],
            "col_labels": HOSTILE,
            "values": [[1, "x", math.nan], "row", [math.inf, -1e308, True]],
        },
        {"kind": "heatmap", "values": [[1] * 10000] * 300},
        {
            "kind": "grid",
            "values": [["a", None], [1]],
            "x_range": "x",
            "points": [[1, 2], "p", [HOSTILE, 1, 1]],
        },
        {
            "kind": "grid",
            "values": [[1, -1], [-1, 1]],
            "x_range": [0, 0],
            "y_range": [0, 1],
            "points": [[0, 0, 1]],
        },
    ],
)
def test_hostile_visuals_draw_without_raising_or_escaping(visual):
    for g in (UNICODE, ASCII):
        out = heatmap_text(visual, g) if visual["kind"] == "heatmap" else boundary_text(visual, g)
        shown = render(out, width=300)
        assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
        assert len(shown.splitlines()) <= 140


def test_hostile_tree_histograms_and_series():
    tree = {
        "name": HOSTILE,
        "formula": HOSTILE,
        "data": "NaN",
        "grad": math.nan,
        "children": [HOSTILE, {"ref": True}, {"name": 3, "children": "no"}],
    }
    hist = {"name": HOSTILE, "layers": [HOSTILE, {"name": HOSTILE, "counts": ["a", math.nan, 1e308, -5]}]}
    shown = "".join(
        render(t)
        for t in (
            tree_text(tree, UNICODE),
            histogram_lines(hist, UNICODE),
            update_ratio_chart([{"step": 1, "values": {HOSTILE: "x"}}, "bad"], 30),
            sweep_charts({"x": ["a", 0, -1], "lines": {HOSTILE + "ms": [1, 2]}}, 30),
        )
    )
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "[bold red]x[/]" in shown  # markup shown as typed, never applied


def test_run_state_keeps_the_histories_the_panels_draw():
    st = RunState()
    st.apply(
        [{"event": "step", "step": s, "loss": 1.0, "accuracy": s / 10} for s in range(1, 4)]
        + [
            {"event": "visual", "kind": "series", "name": "update_to_data", "step": s, "values": {"W": -3}}
            for s in (1, 2)
        ]
        + [{"event": "sample", "step": 3, "text": "ann, bob", "names": ["ann", "bob"]}]
    )
    assert st.lab_series["accuracy"].xy() == ([1, 2, 3], [0.1, 0.2, 0.3])
    assert "loss" not in st.lab_series
    assert [p["step"] for p in st.visual_history["update_to_data"]] == [1, 2]
    assert st.samples[-1]["names"] == ["ann", "bob"]


# -- the panels in the run view, on canned run folders ------------------------------------
def canned_run(sess, lab: str, events: list[dict], ended: bool = True) -> str:
    run_id = new_run_id(lab)
    folder = sess.runs_dir / run_id
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"lab": lab, "settings": {}}))
    lines = [{"v": 1, "event": "start", "t": 1.0, "device": "cpu", "total": 20}]
    lines += [{"v": 1, "t": 1.0 + i, **e} for i, e in enumerate(events)]
    if ended:
        lines.append({"v": 1, "event": "end", "t": 100.0, "status": "done", "summary": {}})
    (folder / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    return run_id


def append_events(sess, run_id: str, events: list[dict]) -> None:
    with open(sess.runs_dir / run_id / "metrics.jsonl", "a") as f:
        for e in events:
            f.write(json.dumps({"v": 1, "t": 50.0, **e}) + "\n")


MICROGRAD = [
    {"event": "step", "step": s, "loss": 1.0 / s, "accuracy": min(1.0, 0.5 + s / 20), "data_loss": 0.5}
    for s in range(1, 11)
] + [{"event": "visual", "kind": "tree", "name": "neuron", "root": NEURON}, grid_visual(10)]


@sync
async def test_micrograd_panels_draw_and_follow_a_live_run(sess):
    run_id = canned_run(sess, "micrograd", MICROGRAD, ended=False)
    screen = RunScreen(sess, run_id)
    async with Harness(screen).run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: screen.watch.state.visuals.get("decision_boundary") is not None)
        await pilot.pause()
        tree = text_of(screen.query_one("#graph-tree", Static))
        assert "x1  data 2.0000  grad -1.5000" in tree
        boundary = screen.query_one("#boundary", Static)
        assert not boundary.has_class("-empty") and "step 10" in text_of(boundary)
        curves = text_of(screen.query_one("#lab-curves", Static))
        assert "accuracy 100.0%" in curves and "accuracy" in curves.splitlines()[-1]
        # The lab sends a new boundary: the panel redraws it.
        append_events(sess, run_id, [grid_visual(20, flip=True)])
        await until(pilot, lambda: "step 20" in text_of(boundary))
        assert "wrong (2)" in text_of(boundary)
        for empty in ("#heatmap-panel", "#names", "#histograms", "#series"):
            assert screen.query_one(empty).has_class("-empty")


MAKEMORE = (
    [{"event": "step", "step": s, "loss": 3.0 - s / 1000} for s in (1000, 2000, 3000)]
    + [counts_visual(), counts_visual("bigram_probabilities")]
    + [
        {
            "event": "sample",
            "step": 3000,
            "prompt": "",
            "text": "emma, olivia",
            "names": ["emma", "olivia", HOSTILE],
        }
    ]
    + [
        {
            "event": "visual",
            "kind": "histograms",
            "name": "activations",
            "step": 3000,
            "layers": [
                {
                    "name": "Tanh 1",
                    "mean": 0.0,
                    "std": 0.6,
                    "saturated": 0.03,
                    "lo": -1,
                    "hi": 1,
                    "counts": [9, 1, 1, 9],
                }
            ],
        }
    ]
    + [
        {
            "event": "visual",
            "kind": "series",
            "name": "update_to_data",
            "step": s,
            "values": {"W1": -3.1, "W2": -2.9},
        }
        for s in (1000, 2000, 3000)
    ]
)


@sync
async def test_makemore_panels_heatmap_names_histograms_ratios(sess):
    run_id = canned_run(sess, "makemore", MAKEMORE)
    screen = RunScreen(sess, run_id)
    async with Harness(screen).run_test(size=(140, 45)) as pilot:
        await until_shown(pilot, screen, "done")
        heat = text_of(screen.query_one("#heatmap-text", Static))
        assert "bigram counts" in heat and "also sent (h): bigram_probabilities" in heat
        assert " ".join(CHARS) in heat
        screen.query_one("#heatmap-panel").focus()
        await pilot.press("h")  # the next heat map the run sent
        assert "also sent (h): bigram_counts" in text_of(screen.query_one("#heatmap-text", Static))
        names = text_of(screen.query_one("#names", Static))
        assert "emma" in names and "olivia" in names and "[bold red]x[/]" in names and "\x1b" not in names
        assert "Tanh 1" in text_of(screen.query_one("#histograms", Static))
        series = text_of(screen.query_one("#series", Static))
        assert "log10 update/data ratio" in series and "W1" in series and "-3 (rule of thumb)" in series


@sync
async def test_panels_at_80x24_in_ascii(sess):
    run_id = canned_run(sess, "makemore", MAKEMORE + MICROGRAD[-2:-1])  # and micrograd's tree
    screen = RunScreen(sess, run_id)
    harness = Harness(screen)
    harness.glyphs = ASCII
    async with harness.run_test(size=(80, 24)) as pilot:
        await until_shown(pilot, screen, "done")
        for selector in ("#heatmap-text", "#graph-tree", "#histograms", "#series"):
            shown = text_of(screen.query_one(selector, Static))
            assert shown.strip() and shown.isascii(), selector
        before = screen.query_one("#heatmap-panel").region.height
        await pilot.press("v")  # the results view: the heat map gets the room
        await pilot.pause()
        assert screen.has_class("-results") and screen.query_one("#heatmap-panel").region.height > before
        lines = text_of(screen.query_one("#heatmap-text", Static)).splitlines()
        assert (
            lines[2].startswith(". " + ASCII.heat[0] * 2) and len(lines[2].rstrip()) == 2 + 2 * 27
        )  # not wrapped
