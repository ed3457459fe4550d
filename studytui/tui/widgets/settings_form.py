"""A lab's settings as a form that fits a terminal: one line per setting, the few that matter
first, the rest folded under "advanced", a filter that finds any setting by name, and the
chosen preset's values as placeholders (what the run will use if the field stays empty).

Which settings come first: the manifest's `primary` list when it has one, else the settings
a learner reaches for (PRIMARY_NAMES) in the manifest's order, topped up with its first
ones. Presets come from the manifest's `presets` and `preset_auto` (gpt.lab.json).

Widget ids are `set-<name>` whatever group a setting is in: the labs screen reads them.
Manifest text (names, help, choices) is plain text, never markup.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Collapsible, Input, Label, Select, Static, Switch

from studytui.runs import LabManifest
from studytui.safetext import clean, plain

PRIMARY_NAMES = ("mode", "preset", "model", "rungs", "data", "max_iters", "steps", "device")
MIN_PRIMARY = 4
AUTO = "auto"


def primary_names(manifest: LabManifest) -> list[str]:
    """The settings shown first, in the manifest's order."""
    names = [s["name"] for s in manifest.settings]
    listed = manifest.raw.get("primary")
    if isinstance(listed, list) and listed:
        return [n for n in names if n in {str(x) for x in listed}]
    chosen = [n for n in names if n in PRIMARY_NAMES]
    for n in names:
        if len(chosen) >= MIN_PRIMARY:
            break
        if n not in chosen:
            chosen.append(n)
    return [n for n in names if n in chosen]


def preset_values(manifest: LabManifest, preset: Any) -> tuple[str | None, dict[str, Any]]:
    """(the preset the run will use, its values). `auto` is the CPU choice: the app cannot
    know whether the machine the run starts on has CUDA (the help of `preset` says so)."""
    presets = manifest.raw.get("presets")
    if not isinstance(presets, dict):
        return None, {}
    name = preset
    auto = manifest.raw.get("preset_auto")
    if preset == AUTO and isinstance(auto, dict):
        name = auto.get("cpu")
    values = presets.get(name) if isinstance(name, str) else None
    return (name, values) if isinstance(values, dict) else (None, {})


def placeholder_for(spec: dict[str, Any], preset_name: str | None, values: dict[str, Any]) -> str:
    """What an empty field means: the preset's value, else the manifest's default."""
    name, default = spec["name"], spec.get("default")
    if name in values and not isinstance(values[name], (dict, list)):
        return f"{_raw(values[name])} ({preset_name})"
    text = "none" if default is None else _raw(default)
    if default == "" and spec.get("type") == "str":
        text = '""'
    if spec.get("type") in ("int", "float") and ("min" in spec or "max" in spec):
        text += f"  ({spec.get('min', '')}..{spec.get('max', '')})"
    return text


def _raw(value: Any) -> str:
    """A value as it would be typed (`2000`, not fmt_value's `2,000`)."""
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) and (not value or value.isspace()) else str(value)


class SettingsForm(Vertical):
    """The settings of one lab; `show_lab(manifest)` fills it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.manifest: LabManifest | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: type a setting's name", id="settings-filter", compact=True)
        yield VerticalScroll(id="settings-rows")
        yield Static("", id="setting-help")

    async def show_lab(self, manifest: LabManifest) -> None:
        self.manifest = manifest
        self.query_one("#settings-filter", Input).value = ""
        rows = self.query_one("#settings-rows", VerticalScroll)
        await rows.remove_children()
        primary = primary_names(manifest)
        first = [self._row(s) for s in manifest.settings if s["name"] in primary]
        rest = [self._row(s) for s in manifest.settings if s["name"] not in primary]
        widgets: list = list(first)
        if rest:
            widgets.append(
                Collapsible(
                    *rest, title=f"advanced ({len(rest)} more)", collapsed=True, id="settings-advanced"
                )
            )
        await rows.mount_all(widgets)
        self.show_placeholders()
        self._show_help(manifest.settings[0] if manifest.settings else None)

    def _row(self, spec: dict[str, Any]) -> Horizontal:
        name, kind, default = spec["name"], spec["type"], spec.get("default")
        wid = f"set-{name}"
        label = Label(plain(name, style="bold cyan"), classes="setting-name")
        if kind == "choice":
            field: Any = Select(
                [(plain(c), c) for c in spec["choices"]],
                value=default,
                allow_blank=default is None,
                id=wid,
                compact=True,
            )
        elif kind == "bool":
            field = Switch(value=bool(default), id=wid)
        else:
            field = Input(id=wid, compact=True)
        return Horizontal(label, field, classes="setting-row", id=f"row-{name}")

    def spec(self, name: str) -> dict[str, Any] | None:
        assert self.manifest is not None
        return next((s for s in self.manifest.settings if s["name"] == name), None)

    def show_placeholders(self) -> None:
        """Every empty field says what it will be under the preset now chosen."""
        if self.manifest is None:
            return
        preset = None
        if self.spec("preset") is not None:
            chosen = self.query_one("#set-preset", Select).value
            preset = self.spec("preset").get("default") if chosen is Select.BLANK else chosen
        preset_name, values = preset_values(self.manifest, preset)
        for spec in self.manifest.settings:
            widget = self.query_one(f"#set-{spec['name']}")
            if isinstance(widget, Input):
                widget.placeholder = clean(placeholder_for(spec, preset_name, values))

    @on(Select.Changed, "#set-preset")
    def _preset_changed(self) -> None:
        self.show_placeholders()

    # -- filter ------------------------------------------------------------------------------
    @on(Input.Changed, "#settings-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter(event.value)

    def apply_filter(self, needle: str) -> None:
        needle = needle.strip().lower().replace("-", "_")
        shown = 0
        for row in self.query(".setting-row"):
            name = (row.id or "")[len("row-") :]
            row.display = not needle or needle in name.lower()
            shown += row.display
        if needle and self.query("#settings-advanced"):
            self.query_one("#settings-advanced", Collapsible).collapsed = False
        help_line = self.query_one("#setting-help", Static)
        if needle and not shown:
            help_line.update(Text(f"no setting named like {needle!r}", style="yellow"))

    # -- the focused setting's help -----------------------------------------------------------
    def on_descendant_focus(self, event) -> None:
        wid = event.widget.id or ""
        if wid.startswith("set-"):
            self._show_help(self.spec(wid[len("set-") :]))

    def _show_help(self, spec: dict[str, Any] | None) -> None:
        text = Text()
        if spec is not None:
            text.append(clean(spec["name"]), style="bold")
            text.append(f" ({clean(spec['type'])}): ", style="dim")
            text.append(clean(spec.get("help", "")))
        self.query_one("#setting-help", Static).update(text)
