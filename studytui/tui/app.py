"""The study desk app and its one factory, `build_app(session)`.

The app owns what every screen shares: the session, the StudyState computed from the
store (rebuilt when this app or the CLI changes something), the glyph set, the study
timer and the note saver. Screens are Textual modes (desk, curriculum, glossary,
reading), built on first visit; labs are a screen pushed on top.

The curriculum loads in a worker so the first paint never waits for YAML; a 10,000-item
curriculum shows "Loading" for a moment instead of a blank terminal.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import signal
import threading
import time
from functools import partial
from typing import Callable

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.markup import escape

from studytui.session import Session
from studytui.tui import links
from studytui.tui.glyphs import ascii_from_env, glyphs_for
from studytui.tui.notes import NoteSaver
from studytui.tui.state import StudyState
from studytui.tui.timer import StudyTimer

STORE_POLL_S = 1.0      # how soon a `studytui mark` in another terminal shows up here
MODE_KEYS = {"desk": "d", "curriculum": "c", "glossary": "g", "reading": "r"}


class StudyApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "studytui"
    DEFAULT_MODE = "desk"
    BINDINGS = [
        Binding("d", "switch_mode('desk')", "Desk"),
        Binding("c", "switch_mode('curriculum')", "Curriculum"),
        Binding("g", "switch_mode('glossary')", "Glossary"),
        Binding("r", "switch_mode('reading')", "Reading"),
        Binding("l", "labs", "Labs"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("u", "undo", "Undo", show=False),
    ]

    def __init__(self, session: Session, *, today: Callable[[], dt.date] | None = None,
                 ascii_only: bool | None = None, clock: Callable[[], float] = time.monotonic,
                 poll_s: float | None = STORE_POLL_S, watch_runs: bool = True):
        super().__init__()
        self.session = session
        self.today = today or dt.date.today
        self.ascii_only = ascii_from_env() if ascii_only is None else ascii_only
        self.glyphs = glyphs_for(self.ascii_only)
        self.timer = StudyTimer(clock)
        self.poll_s = poll_s
        self.watch_runs = watch_runs
        self.state: StudyState | None = None
        self.state_version = 0          # screens redraw when theirs falls behind
        self.load_error: str | None = None
        self.problems: list = []
        self.notes: NoteSaver | None = None
        self._data_version: int | None = None
        self._sighup_installed = False
        # Screens (and the widgets they import) load on first visit: the first paint only
        # pays for the desk.
        for mode in MODE_KEYS:
            self.add_mode(mode, partial(_make_screen, mode))
        self.COMMANDS = App.COMMANDS | {_study_commands}

    # -- start-up ------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self._install_sighup()
        self.set_interval(1.0, self._tick, name="timer-tick")
        self.load_curriculum()

    @work(thread=True, exit_on_error=False, group="load")
    def load_curriculum(self) -> None:
        # Only the YAML is read here (the slow part). The store's one SQLite connection
        # belongs to the UI thread: a worker using it while the UI writes would interleave
        # two transactions on one connection.
        try:
            result = self.session.load_result
        except Exception as e:   # a broken YAML folder: say so on the desk
            self.call_from_thread(self._load_failed, f"{type(e).__name__}: {e}")
            return
        self.call_from_thread(self._loaded, result)

    def _loaded(self, result) -> None:
        try:
            store = self.session.store
            version = store.data_version()   # before reading: a change made meanwhile is seen
            state = StudyState.compute(result.curriculum, store)
        except Exception as e:   # a damaged or unwritable database
            from studytui.store import StoreError

            self._load_failed(str(e) if isinstance(e, StoreError) else f"{type(e).__name__}: {e}")
            return
        self.problems = list(getattr(result, "problems", []) or [])
        self.notes = NoteSaver(store, schedule=self.set_timer)
        self._data_version = version
        self._set_state(state)
        if self.poll_s:
            self.set_interval(self.poll_s, self.poll_store, name="store-poll")
        if self.problems:
            self.notify(f"{len(self.problems)} curriculum problem(s); run `studytui validate` to see them",
                        severity="warning", timeout=6)

    def _load_failed(self, message: str) -> None:
        self.load_error = message
        self._bump()

    @property
    def loaded(self) -> bool:
        return self.state is not None

    # -- shared state ---------------------------------------------------------------------------
    def _set_state(self, state: StudyState) -> None:
        self.state = state
        self._bump()

    def _bump(self) -> None:
        self.state_version += 1
        screen = self.screen
        if hasattr(screen, "sync_state"):
            screen.sync_state()
        # screens under a modal or in other modes catch up when they are shown again

    def refresh_state(self) -> None:
        """Recompute after a change made here (our own writes do not move data_version)."""
        if self.state is None:
            return
        self._set_state(StudyState.compute(self.state.curriculum, self.session.store))

    def poll_store(self) -> None:
        """Pick up changes other processes committed (the CLI, another desk)."""
        if self.state is None:
            return
        version = self.session.store.data_version()
        if version != self._data_version:
            self._data_version = version
            self.refresh_state()

    # -- actions every screen uses ---------------------------------------------------------------
    def set_status(self, key: str, status: str) -> None:
        if self.state is None:
            return
        old = self.session.store.set_status(key, status, source="tui")
        if old != status:
            self.refresh_state()

    def action_undo(self) -> None:
        if self.state is None:
            return
        if self.notes:
            self.notes.flush()   # a note typed just now is a change too: undo sees it in order
        undone = self.session.store.undo(source="tui")
        if undone is None:
            self.notify("Nothing to undo.")
            return
        what = {"status": f"status back to {undone['old']}", "note": "note change",
                "time": "logged time"}.get(undone["kind"], undone["kind"])
        self.notify(escape(f"Undid {what}: {undone['key']}"))
        self.refresh_state()
        if hasattr(self.screen, "reload_note"):
            self.screen.reload_note()

    def toggle_timer(self, key: str) -> None:
        if self.timer.running:
            stopped_key = self.timer.key
            self.stop_timer()
            if stopped_key == key:
                return
        self.timer.start(key)
        self.notify(escape(f"Timer started: {key}"))
        self._update_status_bars()

    def stop_timer(self) -> None:
        logged = self.timer.stop(self.session.store) if self.timer.running else None
        if logged:
            from studytui.tui.format import fmt_clock

            self.notify(escape(f"Logged {fmt_clock(logged[1])} on {logged[0]}"))
            self.refresh_state()
        self._update_status_bars()

    def _tick(self) -> None:
        if self.timer.running:
            self._update_status_bars()

    def _update_status_bars(self) -> None:
        from studytui.tui.widgets.status_bar import StatusBar

        for bar in self.screen.query(StatusBar):
            bar.refresh_text()

    def open_url(self, url: str) -> None:
        """A local browser where there is one; over SSH, a terminal hyperlink and a clipboard copy."""
        if links.can_open_browser():
            self._open_browser(url)
            return
        self.copy_to_clipboard(url)
        safe = url.replace("'", "%27")
        self.notify(f"[link='{safe}']{escape(url)}[/link]\n(copied to your clipboard)",
                    title="Link", timeout=15)

    @work(thread=True, exit_on_error=False, group="browser")
    def _open_browser(self, url: str) -> None:
        if links.open_in_browser(url):
            self.call_from_thread(self.notify, escape(f"Opened {url}"))
        else:
            self.call_from_thread(self.notify, f"No browser; the link: {escape(url)}", timeout=15)
            self.call_from_thread(self.copy_to_clipboard, url)

    def show_item(self, key: str) -> None:
        """Go to an item (or a `course:ID` branch) in the curriculum tree."""
        self.switch_mode("curriculum")
        self.call_after_refresh(self._focus_in_tree, key)

    def _focus_in_tree(self, key: str) -> None:
        screen = self.screen
        if hasattr(screen, "focus_key"):
            screen.focus_key(key)

    def show_term(self, term_id: str) -> None:
        self.switch_mode("glossary")
        self.call_after_refresh(self._show_term, term_id)

    def _show_term(self, term_id: str) -> None:
        if hasattr(self.screen, "show_term"):
            self.screen.show_term(term_id)

    def labs_available(self) -> bool:
        # Found, not imported: the labs screen pulls in the chart libraries.
        return importlib.util.find_spec("studytui.tui.screens.labs") is not None

    def action_labs(self, lab: str | None = None) -> None:
        if not self.labs_available():
            self.notify("No labs yet.")
            return
        from studytui.tui.screens.labs import LabsScreen

        if isinstance(self.screen, LabsScreen):
            return
        screen = LabsScreen(self.session)
        self.push_screen(screen)
        if lab:
            self.call_after_refresh(self._pick_lab, screen, lab)

    @staticmethod
    def _pick_lab(screen, lab: str) -> None:
        from textual.widgets import OptionList

        try:
            options = screen.query_one("#lab-list", OptionList)
            options.highlighted = options.get_option_index(lab)
        except Exception:   # the lab is not installed here: the list shows what there is
            screen.app.notify(f"No lab named {lab!r} here.", severity="warning")

    def action_help(self) -> None:
        from studytui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def toggle_ascii(self) -> None:
        self.ascii_only = not self.ascii_only
        self.glyphs = glyphs_for(self.ascii_only)
        self._bump()

    # -- leaving: nothing typed or timed is lost --------------------------------------------------
    def save_everything(self) -> None:
        """Flush the note being typed and log a running timer. Safe to call more than once."""
        from studytui.tui.widgets.note_editor import NoteEditor

        for stack in list(self._screen_stacks.values()):
            for screen in stack:
                try:
                    for editor in screen.query(NoteEditor):
                        editor.capture()
                except Exception:
                    pass
        if self.notes is not None:
            try:
                self.notes.flush()
            except Exception:
                pass
        if self.timer.running and self.state is not None:
            try:
                self.timer.stop(self.session.store)
            except Exception:
                pass

    async def action_quit(self) -> None:
        self.save_everything()
        self.exit()

    def on_unmount(self) -> None:
        self.save_everything()
        self._remove_sighup()

    def run(self, *args, **kwargs):
        try:
            return super().run(*args, **kwargs)
        finally:
            self.save_everything()

    def _install_sighup(self) -> None:
        """An SSH connection that drops sends SIGHUP, whose default kills us mid-sentence:
        save the note and the timer, then leave cleanly."""
        if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
            return
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._on_sighup)
        except (NotImplementedError, RuntimeError, ValueError):
            return
        self._sighup_installed = True

    def _remove_sighup(self) -> None:
        if self._sighup_installed:
            self._sighup_installed = False
            try:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            except (RuntimeError, ValueError):
                pass

    def _on_sighup(self) -> None:
        self.save_everything()
        self.exit(return_code=129)


SCREENS = {"desk": ("desk", "DeskScreen"), "curriculum": ("curriculum", "CurriculumScreen"),
           "glossary": ("glossary", "GlossaryScreen"), "reading": ("reading", "ReadingScreen")}


def _make_screen(mode: str):
    module, name = SCREENS[mode]
    return getattr(importlib.import_module(f"studytui.tui.screens.{module}"), name)()


def _study_commands():
    from studytui.tui.commands import StudyCommands

    return StudyCommands


def build_app(session: Session, **options) -> StudyApp:
    """The one way to make the desk: the CLI, the tests and the bench all call this.

    Options (tests and the bench use them): `today` (a callable giving the date the
    heatmap and streak end on), `ascii_only`, `clock` (the study timer's), `poll_s`
    (None: no store polling), `watch_runs` (False: the labs strip stays idle).
    """
    return StudyApp(session, **options)
