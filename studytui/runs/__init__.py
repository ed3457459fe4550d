"""The run manager: lab manifests, starting and stopping runs, following their events.

Headless (no textual, no torch, no `labs` import): the CLI and the TUI both use it.
"""

from studytui.runs.launcher import start_run, stop_run
from studytui.runs.manifest import (LabManifest, SettingError, get_manifest, lab_names,
                                    load_manifests, parse_settings)
from studytui.runs.status import RunError, RunWatch, duration_s, refresh_runs, resolve_run
from studytui.runs.tail import RunState, RunTail

__all__ = ["LabManifest", "RunError", "RunState", "RunTail", "RunWatch", "SettingError",
           "duration_s", "get_manifest", "lab_names", "load_manifests", "parse_settings",
           "refresh_runs", "resolve_run", "start_run", "stop_run"]
