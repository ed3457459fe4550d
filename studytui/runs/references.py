"""Reference runs, shipped as data: what a learner's run is compared with.

Each `labs/references/<name>.json` (and `<folder>/references/*.json` for each folder on
STUDYTUI_LABS_PATH) describes one reference run: its lab, the settings that decide it
matches (`match`, checked against the run's resolved config), the settings that matter,
the device, the metric it is judged by, and points `[{"step", "tokens", <metric>}]` — a
whole curve when the lab produced it, or a published end point (one point; `step` null
means "at the end"). The format is in docs/protocol.md ("Reference runs").

    ref = reference_for_run("gpt", run_state.resolved)    # the best match, or None
    python scripts/references.py regenerate makemore-bigram-nn   # runs the lab, rewrites the JSON

Reading needs no lab and no torch.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from studytui.protocol import manifest_roots, metric_value, read_json_object

REFERENCES_DIR = "references"
MAX_POINTS = 50


class ReferenceError(ValueError):
    """A reference file that cannot be used; one line naming the file."""


@dataclass(frozen=True)
class Reference:
    name: str
    title: str
    lab: str
    metric: str  # val_loss, loss, figure (the end summary's), tok_per_s
    source: str
    match: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    device: str = ""
    statistic: str = "final"  # how a finished run is judged: its final or best value
    points: tuple[dict[str, Any], ...] = ()
    tokens_per_step: int | None = None
    tok_per_s: float | None = None
    rungs: tuple[dict[str, Any], ...] = ()  # the ladder's figures, rung by rung
    published: str | None = None  # the published figure's source, when `source` is our own run
    published_points: tuple[dict[str, Any], ...] = ()  # ... and its published point(s)
    path: Path | None = None

    def curve(self, metric: str | None = None) -> list[tuple[int, float]]:
        """(step, value) of the points that have both, by step."""
        key = metric or self.metric
        pts = [(p.get("step"), metric_value(p.get(key))) for p in self.points]
        return sorted((s, v) for s, v in pts if isinstance(s, int) and v is not None)

    @property
    def end_point(self) -> tuple[int | None, float] | None:
        """The last point: (step or None for "at the end", value)."""
        for p in reversed(self.points):
            v = metric_value(p.get(self.metric))
            if v is not None:
                s = p.get("step")
                return (s if isinstance(s, int) else None, v)
        return None

    @property
    def end_point_only(self) -> bool:
        return len(self.curve()) < 2

    def value_at(self, step: int) -> float | None:
        """The reference's value at `step`, linear between its points; None outside them."""
        pts = self.curve()
        if len(pts) < 2 or not pts[0][0] <= step <= pts[-1][0]:
            return pts[0][1] if len(pts) == 1 and pts[0][0] == step else None
        i = bisect.bisect_left([s for s, _ in pts], step)
        if pts[i][0] == step:
            return pts[i][1]
        (s0, v0), (s1, v1) = pts[i - 1], pts[i]
        return v0 + (v1 - v0) * (step - s0) / (s1 - s0)

    def rung_speedup(self, rung: str) -> float | None:
        for r in self.rungs:
            if r.get("rung") == rung:
                return metric_value(r.get("speedup_fp32"))
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "lab": self.lab,
            "metric": self.metric,
            "statistic": self.statistic,
            "device": self.device,
            "source": self.source,
            "end_point_only": self.end_point_only,
            "points": [dict(p) for p in self.points],
        }


def parse_reference(path: Path) -> Reference:
    doc = read_json_object(path)
    if not doc:
        raise ReferenceError(f"{path}: not a JSON object")
    for key in ("name", "lab", "metric", "source"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise ReferenceError(f"{path}: missing {key!r}")
    points = doc.get("points", [])
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        raise ReferenceError(f"{path}: 'points' must be a list of objects")
    match = doc.get("match") if isinstance(doc.get("match"), dict) else {}
    settings = doc.get("settings") if isinstance(doc.get("settings"), dict) else {}
    rungs = doc.get("rungs") if isinstance(doc.get("rungs"), list) else []
    tps = doc.get("tokens_per_step")
    return Reference(
        name=doc["name"],
        title=str(doc.get("title") or doc["name"]),
        lab=doc["lab"],
        metric=doc["metric"],
        source=doc["source"],
        match=match,
        settings=settings,
        device=str(doc.get("device") or ""),
        statistic="best" if doc.get("statistic") == "best" else "final",
        points=tuple(points),
        tokens_per_step=tps if isinstance(tps, int) and not isinstance(tps, bool) and tps > 0 else None,
        tok_per_s=metric_value(doc.get("tok_per_s")),
        rungs=tuple(r for r in rungs if isinstance(r, dict)),
        published=doc["published"] if isinstance(doc.get("published"), str) else None,
        published_points=tuple(p for p in doc.get("published_points") or [] if isinstance(p, dict)),
        path=Path(path),
    )


def reference_dirs() -> list[Path]:
    return [root / REFERENCES_DIR for root in manifest_roots()]


@lru_cache(maxsize=4)
def _scan(dirs: tuple[Path, ...]) -> tuple[tuple[Reference, ...], tuple[str, ...]]:
    """Every reference file in `dirs`, read once: the references, and a line for each file
    that cannot be read (skipped: a bad file must not break `lab show`; `list` names it)."""
    found: dict[str, Reference] = {}
    problems: list[str] = []
    for path in (p for d in dirs if d.is_dir() for p in sorted(d.glob("*.json"))):
        try:
            ref = parse_reference(path)
        except ReferenceError as e:
            problems.append(str(e))
            continue
        found.setdefault(ref.name, ref)
    return tuple(found.values()), tuple(problems)


def load_references() -> list[Reference]:
    return list(_scan(tuple(reference_dirs()))[0])


def reference_problems() -> list[str]:
    """One line for each reference file that cannot be read (load_references skips them)."""
    return list(_scan(tuple(reference_dirs()))[1])


def _matches(ref: Reference, lab: str, resolved: dict[str, Any]) -> int | None:
    """How many `match` keys agree (the more, the closer the match); None if one disagrees."""
    if ref.lab != lab:
        return None
    if any(resolved.get(k) != v for k, v in ref.match.items()):
        return None
    return len(ref.match)


def reference_for_run(
    lab: str, resolved: dict[str, Any], references: list[Reference] | None = None
) -> Reference | None:
    """The shipped reference that matches a run best; else the published figure the run
    itself carries (`config.reference`, the GPT lab's presets); else None."""
    refs = load_references() if references is None else references
    scored = [(score, ref) for ref in refs if (score := _matches(ref, lab, resolved)) is not None]
    if scored:
        return max(scored, key=lambda sr: sr[0])[1]
    carried = resolved.get("reference")
    if isinstance(carried, dict):
        for metric in ("val_loss", "loss", "figure"):
            if metric_value(carried.get(metric)) is not None:
                return Reference(
                    name=str(carried.get("preset") or lab),
                    title=str(carried.get("source") or lab),
                    lab=lab,
                    metric=metric,
                    source=str(carried.get("source") or ""),
                    statistic="best" if metric == "val_loss" else "final",
                    points=({"step": None, metric: carried[metric]},),
                )
    return None


def settings_differ(ref: Reference, resolved: dict[str, Any]) -> list[str]:
    """Settings that matter to the reference but differ in this run: not like for like."""
    carried = resolved.get("reference")
    differs = [str(k) for k in carried.get("differs") or []] if isinstance(carried, dict) else []
    differs += [k for k, v in ref.settings.items() if k in resolved and resolved[k] != v]
    return list(dict.fromkeys(differs))


def reference_curve(ref: Reference | None, metric: str | None = None) -> tuple[list[float], list[float]]:
    """The reference as chart points (x = step) of `metric`, or by default of its own
    metric, else of its val_loss or loss curve (a makemore reference is judged by its
    end figure but may carry the lab's loss curve); empty when it has no stepped point."""
    key = metric or reference_curve_metric(ref)
    pts = ref.curve(key) if ref is not None and key else []
    return [float(s) for s, _ in pts], [v for _, v in pts]


def reference_curve_metric(ref: Reference | None) -> str | None:
    """Which metric `reference_curve(ref)` draws by default (for the chart's legend):
    the first of its own metric, val_loss, loss with a curve, else with a point."""
    if ref is None:
        return None
    keys = list(dict.fromkeys((ref.metric, "val_loss", "loss")))
    return next((k for k in keys if len(ref.curve(k)) > 1), None) or next(
        (k for k in keys if ref.curve(k)), None
    )


# -- making a reference from a run -------------------------------------------------------------


def _thin(steps: list[int]) -> list[int]:
    stride = max(1, -(-len(steps) // MAX_POINTS))
    return steps[::stride]


def reference_from_run(run_dir: Path, template: Reference) -> dict[str, Any]:
    """A reference document: `template`'s description, this run's points and device."""
    from studytui.runs.watch import RunWatch  # only the regenerate command folds a run

    watch = RunWatch(Path(run_dir))
    watch.poll()
    st = watch.state
    tps = template.tokens_per_step
    by_step: dict[int, dict[str, Any]] = {}
    for key, series in (("loss", st.loss), ("val_loss", st.val_loss)):
        for x, y in zip(*series.xy()):
            point = by_step.setdefault(int(x), {"step": int(x)})
            point[key] = round(y, 4)
            if tps:
                point["tokens"] = int(x) * tps
    # A small file: at most ~MAX_POINTS points of each curve (val points are few: all kept
    # while they fit), always with the last step.
    steps = sorted(by_step)
    val_steps = [s for s in steps if "val_loss" in by_step[s]]
    kept = set(_thin(val_steps)) | set(_thin([s for s in steps if s not in val_steps]))
    points = [by_step[s] for s in steps if s in kept or s == steps[-1]]
    figure = metric_value(st.summary.get(template.metric))
    if figure is not None and template.metric not in ("loss", "val_loss"):
        if points and points[-1]["step"] == st.step:
            points[-1][template.metric] = figure
        else:
            points.append({"step": st.step, template.metric: figure})
    tok = sorted(st.tok_per_s.xy()[1])
    doc = {k: v for k, v in template.to_json().items() if k not in ("points", "end_point_only")}
    published = template.published or template.source
    if template.end_point_only and template.points and not template.published_points:
        doc["published_points"] = [dict(p) for p in template.points]  # e.g. nanoGPT's 1.88
    elif template.published_points:
        doc["published_points"] = [dict(p) for p in template.published_points]
    doc.update(
        {
            "match": template.match,
            "settings": template.settings,
            "device": st.device or template.device,
            "tokens_per_step": tps,
            "tok_per_s": round(tok[len(tok) // 2], 1) if tok else None,
            "points": points,
            "source": f"this lab, run with the reference's settings and the lab's seeds "
            f"(scripts/references.py regenerate {template.name}); published: {published}",
            "published": published,
        }
    )
    return doc
