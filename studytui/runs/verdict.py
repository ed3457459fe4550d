"""Is this run on track? Its loss beside the reference's at the same step, in one line.

    verdict(state, reference)   # Verdict(status="on track", text="val 2.31 at step 600, reference 2.28: on track")

Pure: a folded `RunState` and a `Reference` in, a `Verdict` out; `lab show`, the report,
the TUI's run view and desk notifications all say the same thing. Statuses:

| status | when |
| --- | --- |
| `on track` | within the tolerance of the reference at the latest comparable step |
| `ahead` | below the reference by more than the tolerance (lower loss is better) |
| `behind` | above it by more than the tolerance, less than the divergence margin |
| `diverging` | above it by more than the divergence margin at every comparison since a step |
| `diverged` | the run ended `diverged`, or its loss is NaN/inf |
| `too early` | the reference has an end point only, and the run has not reached it |
| `info` | figures beside the reference that are not judged (the ladder: other devices) |
| `no reference` | nothing to compare with |
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from studytui.runs.events import RunState
from studytui.runs.format import fmt_value
from studytui.runs.references import Reference, reference_for_run, settings_differ

TOLERANCE_ABS, TOLERANCE_REL = 0.05, 0.03  # "on track": within max of the two
DIVERGING_ABS, DIVERGING_REL = 0.3, 0.15  # "diverging": above by more than max of the two
METRIC_WORD = {"val_loss": "val", "loss": "loss", "figure": "figure", "tok_per_s": "tok/s"}


@dataclass(frozen=True)
class Verdict:
    status: str
    text: str
    metric: str | None = None
    step: int | None = None
    value: float | None = None
    reference: str | None = None  # the reference's name
    reference_step: int | None = None
    reference_value: float | None = None
    delta: float | None = None  # value - reference_value (negative: better)
    since_step: int | None = None  # diverging since this step
    end_point_only: bool = False
    differs: list[str] = field(default_factory=list)  # settings that make it not like for like
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _tolerance(ref_value: float) -> float:
    return max(TOLERANCE_ABS, TOLERANCE_REL * abs(ref_value))


def _diverging_margin(ref_value: float) -> float:
    return max(DIVERGING_ABS, DIVERGING_REL * abs(ref_value))


def _judge(delta: float, ref_value: float) -> str:
    if delta > _diverging_margin(ref_value):
        return "diverging"
    if delta > _tolerance(ref_value):
        return "behind"
    if delta < -_tolerance(ref_value):
        return "ahead"
    return "on track"


def _run_points(state: RunState, metric: str) -> list[tuple[int, float]]:
    series = {"val_loss": state.val_loss, "loss": state.loss}.get(metric)
    if series is None:
        return []
    xs, ys = series.xy()
    return [(int(x), y) for x, y in zip(xs, ys)]


def _end_value(state: RunState, ref: Reference) -> tuple[int | None, float] | None:
    """The finished run's figure for the reference: its best or final value."""
    if ref.statistic == "best" and ref.metric in state.best:
        return state.best[ref.metric]
    v = metric_value_of(state.summary.get(ref.metric))
    if v is None:
        v = metric_value_of(state.last.get(ref.metric))
    return (state.step, v) if v is not None else None


def metric_value_of(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _non_finite(state: RunState) -> str | None:
    for key in ("loss", "val_loss"):
        v = metric_value_of(state.last.get(key))
        if v is not None and not math.isfinite(v):
            return f"{key} is {v} at step {state.step}"
    return None


def verdict(state: RunState, reference: Reference | None, *, lab: str | None = None) -> Verdict:
    """How far the run is from `reference` at the same step (or at the end)."""
    if state.end_status == "diverged" or _non_finite(state):
        why = state.end_reason or _non_finite(state) or "the lab's guard stopped it"
        return Verdict("diverged", f"diverged: {why}", reference=reference.name if reference else None)
    if reference is None:
        return Verdict("no reference", "no reference run for this lab and settings")
    differs = settings_differ(reference, state.resolved)
    base = dict(
        metric=reference.metric,
        reference=reference.name,
        source=reference.source,
        end_point_only=reference.end_point_only,
        differs=differs,
    )
    if reference.rungs:
        return _ladder_verdict(state, reference, base)
    word = METRIC_WORD.get(reference.metric, reference.metric)
    caveat = f" (not like for like: {', '.join(differs)} differ)" if differs else ""
    if not reference.end_point_only:
        compared = [
            (s, v, ref_v)
            for s, v in _run_points(state, reference.metric)
            if (ref_v := reference.value_at(s)) is not None
        ]
        if compared:
            v = _curve_verdict(compared, word, caveat, base)
            extra = _published(reference, state)
            return replace(v, text=v.text + extra) if extra else v
        first_step = reference.curve()[0][0]
        mine = _run_points(state, reference.metric)
        so_far = f"; {word} {fmt_value(mine[-1][1])} at step {mine[-1][0]} so far" if mine else ""
        return Verdict(
            "too early", f"the reference's {word} curve starts at step {first_step}{so_far}{caveat}", **base
        )
    end = reference.end_point
    if end is None:
        return Verdict("no reference", f"reference {reference.name} has no {word} figure")
    ref_step, ref_value = end
    where = f"at step {ref_step} only" if ref_step is not None else "at the end only"
    reached = state.ended or (ref_step is not None and state.step is not None and state.step >= ref_step)
    if not reached:
        now = _end_value(state, reference)
        so_far = f"; {word} {fmt_value(now[1])} at step {now[0]} so far" if now else ""
        return Verdict(
            "too early",
            f"reference {fmt_value(ref_value)} {where}{so_far}{caveat}",
            reference_step=ref_step,
            reference_value=ref_value,
            **base,
        )
    mine = _end_value(state, reference)
    if mine is None:
        return Verdict(
            "no reference",
            f"this run has no {word} to compare with the reference's {fmt_value(ref_value)}{caveat}",
            reference_step=ref_step,
            reference_value=ref_value,
            **base,
        )
    step, value = mine
    delta = value - ref_value
    status = _judge(delta, ref_value)
    best = "best " if reference.statistic == "best" else ""
    at = f" at step {step}" if step else ""  # a lab without steps (bigram counts) reports step 0
    ref_at = f" at step {ref_step}" if ref_step is not None else ""
    return Verdict(
        status,
        f"{best}{word} {fmt_value(value)}{at}, reference {fmt_value(ref_value)}{ref_at}: {status}{caveat}",
        step=step,
        value=value,
        reference_step=ref_step,
        reference_value=ref_value,
        delta=round(delta, 4),
        **base,
    )


def verdict_for_run(lab: str, state: RunState) -> tuple[Verdict, Reference | None]:
    """The verdict against the reference that matches the run (the TUI's run view and desk)."""
    reference = reference_for_run(lab, state.resolved)
    return verdict(state, reference), reference


def ending_line(run_id: str, status: str, state: RunState, judged: Verdict | None = None) -> str:
    """One plain line for a run that just ended (a desk notification, `lab attach`):
    `gpt-...: diverged (loss is nan at step 312)`, `gpt-...: done; best val 1.86 ...: on track`.
    Run-folder text: pass it through safetext before a terminal."""
    line = f"{run_id}: {status}"
    if status == "diverged" and state.end_reason:
        return f"{line} ({state.end_reason})"
    if status == "failed" and state.error:
        return f"{line} ({state.error})"
    if judged is not None and judged.status not in ("no reference", "diverged"):
        line += f"; {judged.text}"
    return line


def _published(reference: Reference, state: RunState) -> str:
    """The published figure beside a curve made with the lab, once the run has ended."""
    if not state.ended or not reference.published_points:
        return ""
    p = reference.published_points[-1]
    v = metric_value_of(p.get(reference.metric))
    if v is None:
        return ""
    at = f" at step {p['step']}" if isinstance(p.get("step"), int) else ""
    return f"; published: {fmt_value(v)}{at}"


def _curve_verdict(
    compared: list[tuple[int, float, float]], word: str, caveat: str, base: dict[str, Any]
) -> Verdict:
    step, value, ref_value = compared[-1]
    delta = value - ref_value
    status = _judge(delta, ref_value)
    since = None
    if status == "diverging":
        since = step
        for s, v, r in reversed(compared):
            if v - r <= _diverging_margin(r):
                break
            since = s
        text = f"diverging: {fmt_value(delta)} above the reference since step {since}{caveat}"
    else:
        text = f"{word} {fmt_value(value)} at step {step}, reference {fmt_value(ref_value)}: {status}{caveat}"
    return Verdict(
        status,
        text,
        step=step,
        value=value,
        reference_step=step,
        reference_value=ref_value,
        delta=round(delta, 4),
        since_step=since,
        **base,
    )


def ladder_rows(state: RunState) -> list[dict[str, Any]]:
    """The ladder lab's result table as {rung, speedup_fp32, tok_per_s} rows."""
    table = state.tables.get("ladder")
    if not table:
        return []
    cols = table["columns"]
    out = []
    for row in table["rows"]:
        cell = dict(zip(cols, row))
        out.append(
            {
                "rung": str(cell.get("rung")),
                "speedup_fp32": metric_value_of(cell.get("vs fp32")),
                "tok_per_s": metric_value_of(cell.get("tok/s")),
            }
        )
    return out


def _ladder_verdict(state: RunState, ref: Reference, base: dict[str, Any]) -> Verdict:
    ran = [r for r in ladder_rows(state) if r["speedup_fp32"] is not None]
    if not ran:
        return Verdict(
            "too early",
            "no rung timed yet; the seed notes' ladder reaches "
            f"x{fmt_value(ref.rungs[-1].get('speedup_fp32'))} over fp32",
            **base,
        )
    last = ran[-1]
    theirs = ref.rung_speedup(last["rung"])
    text = f"x{fmt_value(last['speedup_fp32'])} over fp32 at rung {last['rung']}"
    if theirs:
        text += (
            f"; the seed notes: x{fmt_value(theirs)} (ratio {fmt_value(last['speedup_fp32'] / theirs)},"
            " on another device)"
        )
    return Verdict("info", text, step=None, value=last["speedup_fp32"], reference_value=theirs, **base)
