"""The text chart of reports and `lab compare`, drawn exactly: every point in its cell, axes,
labels and legend (the picture a learner pastes into an issue must not drift)."""

from __future__ import annotations

import math

from studytui.runs.chart import text_chart

NAN = math.nan


def test_two_runs_that_meet_share_a_clash_marker():
    chart = text_chart(
        [("val_loss", [0, 250, 500], [4.2, 2.5, 2.1]), ("train", [0, 250, 500, 750], [4.0, 2.5, 1.9, NAN])],
        width=20,
        height=5,
    )
    assert chart == "\n".join(
        [
            " 4.2 |#",
            "     |",
            "3.05 |",
            "     |          #",
            " 1.9 |                   #",
            "     +--------------------",
            "      0                500  step",
            "      * val_loss   o train   # several",
        ]
    )


def test_runs_apart_keep_their_markers_and_the_x_label():
    chart = text_chart(
        [("up", [0, 1, 2], [1, 2, 3]), ("down", [0, 1, 2], [30, 20, 10])],
        width=12,
        height=4,
        x_label="tokens",
    )
    assert chart == "\n".join(
        [
            "  30 |o",
            "     |      o",
            "15.5 |           o",
            "   1 |*     *    *",
            "     +------------",
            "      0          2  tokens",
            "      * up   o down",
        ]
    )


def test_markers_go_round_after_eight_series():
    chart = text_chart([(f"s{i}", [i], [i]) for i in range(9)], width=10, height=3)
    assert chart.splitlines()[:3] == ["8 |       &=*", "4 |   x@ %", "0 |*o+"]
    assert chart.splitlines()[-1] == "   * s0   o s1   + s2   x s3   @ s4   % s5   & s6   = s7   * s8"


def test_one_point_gets_a_range_and_the_smallest_grid():
    assert text_chart([("a", [3], [1.0])], width=4, height=1) == "\n".join(
        ["1.5 |", "  1 |*", "0.5 |", "    +----------", "     3        4  step", "     * a"]
    )


def test_one_series_over_itself_is_not_several():
    chart = text_chart([("a", [0, 0, 1], [1.0, 1.0, 2.0])], width=10, height=3)
    assert "#" not in chart and "several" not in chart


def test_nothing_finite_draws_nothing():
    assert text_chart([("a", [0, 1, NAN], [NAN, math.inf, 1.0])]) == "(no points to draw yet)"
    assert text_chart([]) == "(no points to draw yet)"


def test_labels_are_short_for_big_and_small_values():
    big = text_chart([("a", [0, 20000], [12345.0, 0.005])], width=10, height=3).splitlines()
    assert big[0].startswith("1.23e+04 |") and big[2].startswith("5.00e-03 |")
    assert big[4].split() == ["0", "2.00e+04", "step"]
    mid = text_chart([("a", [0, 1], [0.0, 9999.4])], width=10, height=3).splitlines()
    assert mid[0].startswith("9999 |") and mid[2].startswith("   0 |")
    neg = text_chart([("a", [0, 1], [-20000.0, 0.0])], width=10, height=3).splitlines()
    assert neg[2].startswith("-2.00e+04 |") and neg[1].startswith("-1.00e+04 |")
