"""Lab manifests and settings, as the app uses them: a thin face over `labs.protocol`.

studytui never imports a lab: `labs.protocol` (stdlib only) finds the `labs` package with
`importlib.util.find_spec` (which locates without importing) and reads the JSON beside it,
plus the lab packages in the folders named by STUDYTUI_LABS_PATH. The lab checks its
settings again with the same code when it starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studytui import protocol
from studytui.protocol import LabManifest, SettingError, discover

__all__ = [
    "LabManifest",
    "SettingError",
    "discover",
    "get_manifest",
    "lab_names",
    "load_manifests",
    "parse_settings",
]


def load_manifests() -> dict[str, LabManifest]:
    return discover()[0]


def lab_names() -> set[str]:
    """Names of all labs; cheap (reads a few small JSON files), for curriculum validation."""
    return set(load_manifests())


def get_manifest(name: str, manifests: dict[str, LabManifest] | None = None) -> LabManifest:
    return protocol.find_manifest(name, manifests)


def parse_settings(
    manifest: LabManifest,
    pairs: list[str],
    *,
    runs_dir: Path | None = None,
) -> dict[str, Any]:
    """`["k=v", ...]` from `--set` (or a form) -> {name: typed value}, each checked.

    Only the settings given are returned; the lab fills in the manifest defaults. Paths are
    made absolute, because the lab runs in its own folder. An empty value means "unset".
    """
    return protocol.check_settings(manifest, protocol.parse_pairs(pairs), runs=runs_dir)
