"""The run manager: lab manifests, starting and stopping runs, following their events.

Headless (no textual, no torch; of the labs only the stdlib `labs.protocol`): the CLI and
the TUI both use it. Import from here. Inside, imports go one way:
launcher -> index -> watch -> events -> labs.protocol (children and manifest stand alone).
"""

from labs.protocol import METRIC_KEYS
from studytui.runs.events import Line, RunState, RunTail, Series
from studytui.runs.index import RunError, duration_s, refresh_runs, resolve_run, watch_for
from studytui.runs.launcher import start_run, stop_run
from studytui.runs.manifest import (LabManifest, SettingError, get_manifest, lab_names,
                                    load_manifests, parse_settings)
from studytui.runs.watch import RunChange, RunWatch

__all__ = ["METRIC_KEYS", "LabManifest", "Line", "RunChange", "RunError",
           "RunState", "RunTail", "RunWatch", "Series", "SettingError", "duration_s",
           "get_manifest", "lab_names", "load_manifests", "parse_settings", "refresh_runs",
           "resolve_run", "start_run", "stop_run", "watch_for"]
