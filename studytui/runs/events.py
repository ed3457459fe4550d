"""Reading a run's `metrics.jsonl` as it grows, and folding its events into one state.

A live run, a finished one and one you re-attach to after a reconnect all go through
`RunTail.read()` + `RunState.apply_lines()`: the file is the only truth, so a fresh reader
started at any time arrives at the same state as one that watched from the start.
Each line carries the file offset where it ends, and a state applies a line only once,
so the same lines handed to it twice (two readers racing) change nothing.
"""

from __future__ import annotations

import json
import math
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from studytui.protocol import (
    CONFIG_FILE,
    END_STATUSES,
    METRIC_KEYS,
    METRICS_FILE,
    headline_figure,
    metric_value,
    read_json_object,
    read_table,
)

HEAD_BYTES = 64
MAX_SERIES_POINTS = 2000
MAX_RECENT = 200
MAX_VISUALS = 64
MAX_LAST_KEYS = 32
MAX_SAMPLE_NAMES = 100
MAX_SERIES_VISUALS = 500  # `series` visuals kept per name (a curve over steps)
NOT_METRICS = {"v", "t", "step", "event"}
START_NOT_INFO = {"v", "t", "event", "config", "pid", "total"}
BEST_KEYS = ("loss", "val_loss")  # lower is better: their best (finite) values are kept exactly


class Line(NamedTuple):
    """One event and the byte offset in metrics.jsonl just past its line."""

    end: int
    event: dict[str, Any]


class RunTail:
    """Incremental reader: each read returns the complete lines appended since the last one.

    A final line without a newline is a write in progress and waits for the next poll.
    Malformed lines are skipped (counted in `skipped`). If the file shrinks or is replaced,
    reading starts over and `reset` turns True so the caller can rebuild its state.
    """

    def __init__(self, run_dir: Path, *, chunk_bytes: int | None = None):
        self.path = Path(run_dir) / METRICS_FILE
        self.offset = 0
        self.skipped = 0
        self.reset = False
        self.chunk_bytes = chunk_bytes  # cap per poll, so a huge file never stalls a UI frame
        self._inode: int | None = None
        self._head = b""  # the file's first bytes, to tell a new file from the old one grown

    def _replaced(self, f, st: os.stat_result) -> bool:
        """A new file where ours was: another inode, fewer bytes than we read, or (an inode
        number reused after a delete) other first bytes."""
        if self._inode is None:
            return False
        if st.st_ino != self._inode or st.st_size < self.offset:
            return True
        if self._head:
            f.seek(0)
            return f.read(len(self._head)) != self._head
        return False

    def poll(self) -> list[dict[str, Any]]:
        """The new events, without their offsets."""
        return [line.event for line in self.read()]

    def read(self) -> list[Line]:
        self.reset = False
        try:
            f = open(self.path, "rb")
        except (FileNotFoundError, NotADirectoryError):
            return []
        with f:
            # fstat the file we opened, not the path: it may be replaced between the two.
            st = os.fstat(f.fileno())
            if st.st_size == self.offset and st.st_ino == self._inode:
                return []
            if self._replaced(f, st):
                self.offset, self.reset, self._head = 0, True, b""
            self._inode = st.st_ino
            f.seek(self.offset)
            data = f.read(self.chunk_bytes if self.chunk_bytes else -1)
            if self.chunk_bytes and b"\n" not in data and len(data) == self.chunk_bytes:
                data += f.read()  # one line longer than a chunk: take it whole
            if len(self._head) < HEAD_BYTES and self.offset < HEAD_BYTES:
                f.seek(0)
                self._head = f.read(HEAD_BYTES)
        end = data.rfind(b"\n")
        if end < 0:
            return []
        start, self.offset = self.offset, self.offset + end + 1
        lines = []
        for raw in data[:end].split(b"\n"):
            start += len(raw) + 1
            if not raw.strip():
                continue
            try:
                event = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                self.skipped += 1
                continue
            if isinstance(event, dict) and isinstance(event.get("event"), str):
                lines.append(Line(start, event))
            else:
                self.skipped += 1
        return lines


class Series:
    """(x, y) points with bounded memory: past `max_points`, keep every other point and
    from then on only every 2nd (4th, ...) new one, so a million-step run costs the same
    as a short one and the chart still spans the whole run. `last` is always exact."""

    def __init__(self, max_points: int = MAX_SERIES_POINTS):
        self.max_points = max_points
        self.points: list[tuple[float, float]] = []
        self.stride = 1
        self.seen = 0
        self.last: tuple[float, float] | None = None

    def add(self, x: float, y: float) -> None:
        self.last = (x, y)
        if self.seen % self.stride == 0:
            self.points.append((x, y))
            if len(self.points) > self.max_points:
                self.points = self.points[::2]
                self.stride *= 2
        self.seen += 1

    def xy(self) -> tuple[list[float], list[float]]:
        pts = list(self.points)
        if self.last is not None and (not pts or pts[-1] != self.last):
            pts.append(self.last)
        return [p[0] for p in pts], [p[1] for p in pts]

    def __len__(self) -> int:
        return len(self.points)


@dataclass
class RunState:
    """Everything a view needs about one run, built only from its events (and config.json)."""

    config: dict[str, Any] = field(default_factory=dict)  # from config.json
    device: str | None = None
    pid: int | None = None
    total: int | None = None
    started_t: float | None = None
    last_t: float | None = None
    ended_t: float | None = None
    end_status: str | None = None  # done / stopped / diverged, from the end event
    end_reason: str | None = None  # why it ended early (diverged), from the end event
    start_info: dict[str, Any] = field(default_factory=dict)  # the start event's other fields
    best: dict[str, tuple[int | None, float]] = field(default_factory=dict)  # key -> (step, value)
    error: str | None = None  # from the error event
    summary: dict[str, Any] = field(default_factory=dict)
    step: int | None = None
    last: dict[str, Any] = field(default_factory=dict)  # latest value of every metric key
    progress: dict[str, Any] = field(default_factory=dict)
    loss: Series = field(default_factory=Series)
    val_loss: Series = field(default_factory=Series)
    tok_per_s: Series = field(default_factory=Series)
    lr: Series = field(default_factory=Series)
    recent_tok_per_s: deque = field(default_factory=lambda: deque(maxlen=240))  # sparkline
    samples: deque = field(default_factory=lambda: deque(maxlen=20))
    merges: deque = field(default_factory=lambda: deque(maxlen=MAX_RECENT))
    merges_total: int = 0
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    visuals: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> latest visual event
    # A lab's own step numbers over steps (micrograd's accuracy curve), same bound as `last`.
    lab_series: dict[str, Series] = field(default_factory=dict)
    # `series` visuals with a step, oldest first: each is one point of a curve (makemore's
    # update-to-data ratios); the panel needs the history, not only the latest.
    visual_history: dict[str, deque] = field(default_factory=dict)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    log: deque = field(default_factory=lambda: deque(maxlen=MAX_RECENT))  # (t, text) lines
    event_times: deque = field(default_factory=lambda: deque(maxlen=33))  # to judge a stall
    events_seen: int = 0
    read_to: int = 0  # offset in metrics.jsonl past the last line applied

    @property
    def ended(self) -> bool:
        return self.end_status is not None or self.error is not None

    @property
    def resolved(self) -> dict[str, Any]:
        return self.config.get("resolved") or {}

    def apply(self, events: list[dict[str, Any]]) -> None:
        """Fold events that carry no offset (canned ones, in tests and benches)."""
        for e in events:
            self._apply_one(e)

    def apply_lines(self, lines: list[Line]) -> list[dict[str, Any]]:
        """Fold lines read from metrics.jsonl, each at most once; the events newly applied."""
        applied = []
        for line in lines:
            if line.end <= self.read_to:
                continue  # already folded in: another reader handed us the same lines
            self._apply_one(line.event)
            self.read_to = line.end
            applied.append(line.event)
        return applied

    def _apply_one(self, e: dict[str, Any]) -> None:
        kind = e.get("event")
        t = metric_value(e.get("t"))
        self.events_seen += 1
        if t is not None:
            self.last_t = t
            self.event_times.append(t)
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            try:
                handler(e, t)
            except (TypeError, ValueError, KeyError, AttributeError):
                pass  # a malformed event of a known kind is skipped like a malformed line

    def _note(self, t: float | None, text: str) -> None:
        self.log.append((t, text))

    def _on_start(self, e, t):
        self.started_t = t
        self.pid = e.get("pid") if isinstance(e.get("pid"), int) else self.pid
        self.device = e.get("device") or self.device
        if isinstance(e.get("total"), int):
            self.total = e["total"]
        self.start_info = {
            k: v for k, v in e.items() if k not in START_NOT_INFO and isinstance(v, (str, int, float, bool))
        }
        if isinstance(e.get("config"), dict) and "resolved" not in self.config:
            self.config["resolved"] = e["config"]
        self._note(t, f"start on {self.device or '?'}" + (f", {self.total} planned" if self.total else ""))

    def _on_step(self, e, t):
        step = e.get("step")
        if isinstance(step, int):
            self.step = step
            self.last["step"] = step
        for key in METRIC_KEYS:
            v = metric_value(e.get(key))
            if v is not None:
                self.last[key] = v
        # A lab's own numbers (micrograd's accuracy) too, so its key figure shows while it
        # runs; a few dozen names at most, whatever a run folder holds.
        for key, value in e.items():
            v = metric_value(value)
            if (
                v is not None
                and key not in NOT_METRICS
                and isinstance(key, str)
                and (key in self.last or len(self.last) < MAX_LAST_KEYS)
            ):
                self.last[key] = v
        x = self.step if self.step is not None else self.events_seen
        for key, value in e.items():
            v = metric_value(value)
            if v is not None and key in self.last and key not in METRIC_KEYS and key not in NOT_METRICS:
                self.lab_series.setdefault(key, Series()).add(x, v)
        self._keep_best("loss", self.step, metric_value(e.get("loss")))
        # A warm-up step (compiling under torch.compile) has a meaningless speed: its tok/s
        # stays out of the chart, the sparkline and every median.
        speeds = ("tok_per_s",) if e.get("warmup") is not True else ()
        for key in ("loss", "lr", *speeds):
            v = metric_value(e.get(key))
            if v is not None:
                getattr(self, key).add(x, v)
        if speeds and metric_value(e.get("tok_per_s")) is not None:
            self.recent_tok_per_s.append(float(e["tok_per_s"]))

    def _on_eval(self, e, t):
        v = metric_value(e.get("val_loss"))
        step = e.get("step") if isinstance(e.get("step"), int) else self.step
        if v is not None:
            self.last["val_loss"] = v
            self.val_loss.add(step if step is not None else 0, v)
            self._keep_best("val_loss", step, v)
            self._note(t, f"eval step {step}: val_loss {v:.4f}")

    def _keep_best(self, key: str, step: int | None, v: float | None) -> None:
        if v is not None and math.isfinite(v) and (key not in self.best or v < self.best[key][1]):
            self.best[key] = (step, v)

    def _on_sample(self, e, t):
        names = e.get("names")  # makemore: the sampled names, one each (the text joins them)
        self.samples.append(
            {
                "step": e.get("step"),
                "prompt": e.get("prompt") or "",
                "text": str(e.get("text") or ""),
                "names": [str(n) for n in names[:MAX_SAMPLE_NAMES]] if isinstance(names, list) else None,
            }
        )

    def _on_progress(self, e, t):
        self.progress = {k: e.get(k) for k in ("done", "total", "rate", "unit", "eta_s")}
        if isinstance(e.get("total"), int):
            self.total = e["total"]
        if isinstance(e.get("done"), int):
            self.last["done"] = e["done"]
        if metric_value(e.get("rate")) is not None:
            self.last["rate"] = e["rate"]

    def _on_merges(self, e, t):
        new = [m for m in e.get("merges") or [] if isinstance(m, dict)]
        self.merges.extend(new)
        self.merges_total += len(new)

    def _on_table(self, e, t):
        name, table = read_table(e)
        self.tables[name] = table
        self._note(t, f"table {name} ({len(self.tables[name]['rows'])} rows)")

    def _on_visual(self, e, t):
        kind, name = e.get("kind"), e.get("name")
        if not isinstance(kind, str) or not isinstance(name, str):
            return
        if name not in self.visuals and len(self.visuals) >= MAX_VISUALS:
            return  # a lab naming a new visual every step must not grow this without end
        self.visuals[name] = {k: v for k, v in e.items() if k not in ("v", "event", "t")}
        if kind == "series" and isinstance(e.get("step"), int):
            self.visual_history.setdefault(name, deque(maxlen=MAX_SERIES_VISUALS)).append(self.visuals[name])

    def _on_checkpoint(self, e, t):
        self.checkpoints.append({"step": e.get("step"), "path": e.get("path")})
        self._note(t, f"checkpoint at step {e.get('step')}: {e.get('path')}")

    def _on_log(self, e, t):
        self._note(t, str(e.get("message", "")))

    def _on_end(self, e, t):
        self.end_status = e.get("status") if e.get("status") in END_STATUSES else "done"
        self.ended_t = t
        self.summary = e.get("summary") if isinstance(e.get("summary"), dict) else {}
        reason = e.get("reason")
        self.end_reason = str(reason).splitlines()[0] if isinstance(reason, str) and reason.strip() else None
        self._note(t, f"end: {self.end_status}" + (f" ({self.end_reason})" if self.end_reason else ""))

    def _on_error(self, e, t):
        self.error = str(e.get("message") or "error").splitlines()[0] if e.get("message") else "error"
        self.ended_t = t
        self._note(t, f"error: {self.error}")

    # -- derived figures ------------------------------------------------------------------
    def done_and_total(self) -> tuple[int | None, int | None]:
        """How far along: the progress event's counts, else the step against `total`."""
        if isinstance(self.progress.get("done"), int):
            return self.progress["done"], self.progress.get("total") or self.total
        return self.step, self.total

    def eta_s(self, now: float) -> float | None:
        if metric_value(self.progress.get("eta_s")) is not None:
            return float(self.progress["eta_s"])
        done, total = self.done_and_total()
        if not done or not total or self.started_t is None or done >= total:
            return None
        elapsed = (self.last_t or now) - self.started_t
        return elapsed / done * (total - done) if elapsed > 0 else None

    def typical_gap_s(self) -> float | None:
        """The median time between the latest events: what "no news for a while" means."""
        times = list(self.event_times)
        gaps = sorted(b - a for a, b in zip(times, times[1:]) if b >= a)
        return gaps[len(gaps) // 2] if gaps else None

    def figure(self, key: str | None) -> Any:
        """A headline figure: from the end summary if there, else the latest value."""
        return headline_figure(self.summary, self.last, key)


def read_config(run_dir: Path) -> dict[str, Any]:
    return read_json_object(Path(run_dir) / CONFIG_FILE)
