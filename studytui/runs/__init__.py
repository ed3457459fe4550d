"""The run manager: lab manifests, starting and stopping runs, following their events.

Headless (no textual, no torch; of the labs only the stdlib `labs.protocol`): the CLI and
the TUI both use it. Import from here. Inside, imports go one way:
launcher -> index -> report -> verdict -> references, watch -> events -> labs.protocol
(children, manifest and chart stand alone; compare sits on report).

Runs against a reference: `reference_for_run(lab, state.resolved)` finds the reference run
(labs/references/*.json), `verdict(state, reference)` says whether the run is on track,
`reference_curve(reference)` gives its points for a chart, `ending_line(...)` says how a
run ended in one line, `run_report(watch, ...)` is its markdown report card.
"""

from studytui.protocol import METRIC_KEYS
from studytui.runs.events import Line, RunState, RunTail, Series
from studytui.runs.index import RunError, duration_s, lab_runs, refresh_runs, resolve_run, watch_for
from studytui.runs.launcher import start_run, stop_run
from studytui.runs.manifest import (
    LabManifest,
    SettingError,
    get_manifest,
    lab_names,
    load_manifests,
    parse_settings,
)
from studytui.runs.references import Reference, reference_curve, reference_for_run
from studytui.runs.report import report_parts, run_report
from studytui.runs.verdict import Verdict, ending_line, verdict, verdict_for_run
from studytui.runs.watch import RunChange, RunWatch

__all__ = [
    "METRIC_KEYS",
    "lab_runs",
    "LabManifest",
    "Line",
    "Reference",
    "RunChange",
    "RunError",
    "RunState",
    "RunTail",
    "RunWatch",
    "Series",
    "SettingError",
    "Verdict",
    "duration_s",
    "ending_line",
    "get_manifest",
    "lab_names",
    "load_manifests",
    "parse_settings",
    "reference_curve",
    "reference_for_run",
    "refresh_runs",
    "report_parts",
    "resolve_run",
    "run_report",
    "start_run",
    "stop_run",
    "verdict",
    "verdict_for_run",
    "watch_for",
]
