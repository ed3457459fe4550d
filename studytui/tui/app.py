"""The study desk app and its one factory, `build_app(session)`.

The app owns what every screen shares: the session, the StudyState computed from the
store (rebuilt when this app or the CLI changes something), the glyph set, the study
timer and the note saver. Screens are Textual modes (desk, curriculum, glossary,
reading, labs), built on first visit; the run view and the token viewer are pushed on
the labs mode's own stack, so `d` (or any place key) always leaves them, and `l` comes back
to them.

The app talks to screens through messages (studytui.tui.messages), never by calling
methods a screen may not have composed yet. One RunMonitor owns watching runs.

The curriculum loads in a worker so the first paint never waits for YAML; a 10,000-item
curriculum shows "Loading" for a moment instead of a blank terminal.

Two modes block everything but quitting: "too-small" (the terminal is below MIN_SIZE) and
"damaged" (the database cannot be read: what is wrong and what to do). A crash that still
happens exits non-zero and leaves its traceback in STUDYTUI_HOME/logs/crash-<time>.log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import signal
import threading
import time
from collections.abc import Callable
from functools import partial

from textual import events, work
from textual.app import App
from textual.binding import Binding

from studytui import safetext
from studytui.safetext import clean
from studytui.session import Session
from studytui.store import StoreError
from studytui.tui import crash, links
from studytui.tui.glyphs import ascii_from_env, glyphs_for
from studytui.tui.messages import NoteChanged, PickLab, ShowItem, ShowTerm, StateChanged
from studytui.tui.notes import NoteSaver
from studytui.tui.run_monitor import RunMonitor
from studytui.tui.state import StudyState
from studytui.tui.timer import StudyTimer
from studytui.tui.ui_settings import UiSettings
from studytui.tui.workers import ReportsWorkerFailures

STORE_POLL_S = 1.0  # how soon a `studytui mark` in another terminal shows up here
MODE_KEYS = {"desk": "d", "curriculum": "c", "glossary": "g", "reading": "r", "labs": "l", "review": "V"}
# Below this the desk's panes cannot show a line of text each: say so instead of drawing.
MIN_SIZE = (50, 14)
BLOCKING_MODES = ("too-small", "damaged")


class StudyApp(ReportsWorkerFailures, App):
    CSS_PATH = "app.tcss"
    TITLE = "studytui"
    DEFAULT_MODE = "desk"
    BINDINGS = [
        Binding("d", "switch_mode('desk')", "Desk"),
        Binding("c", "switch_mode('curriculum')", "Curriculum"),
        Binding("g", "switch_mode('glossary')", "Glossary"),
        Binding("r", "switch_mode('reading')", "Reading"),
        Binding("l", "labs", "Labs"),
        Binding("V", "switch_mode('review')", "Review", show=False),  # v is the run view's
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("u", "undo", "Undo", show=False),
    ]

    def __init__(
        self,
        session: Session,
        *,
        today: Callable[[], dt.date] | None = None,
        ascii_only: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        poll_s: float | None = STORE_POLL_S,
        watch_runs: bool = True,
    ):
        super().__init__()
        self.session = session
        self.today = today or dt.date.today
        self.ascii_only = ascii_from_env() if ascii_only is None else ascii_only
        self.glyphs = glyphs_for(self.ascii_only)
        self.timer = StudyTimer(clock)
        self.poll_s = poll_s
        self.watch_runs = watch_runs
        self.state: StudyState | None = None
        self.state_version = 0  # screens redraw when theirs falls behind
        self.load_error: str | None = None
        self.problems: list = []
        self.notes: NoteSaver | None = None
        self._data_version: int | None = None
        self._sighup_installed = False
        self._blocked_from: str | None = None  # the mode a blocking mode covers
        self.database_problem: str | None = None
        self.crash_log = None
        self.ui_settings = UiSettings(session.home)
        self.run_monitor = RunMonitor(self, periodic=watch_runs, settings=self.ui_settings)
        # Screens (and the widgets they import) load on first visit: the first paint only
        # pays for the desk.
        for mode in (*MODE_KEYS, *BLOCKING_MODES):
            self.add_mode(mode, partial(_make_screen, mode, session))
        self.COMMANDS = App.COMMANDS | {_study_commands}

    # -- start-up ------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self._install_sighup()
        self.set_interval(1.0, self._tick, name="timer-tick")
        self.run_monitor.start()
        self.set_class(self.ascii_only, "-ascii")  # panel borders drawn in ASCII too
        self._restore_theme()
        self._check_size()
        self.load_curriculum()

    def _restore_theme(self) -> None:
        """The theme chosen last time (ctrl+p, "theme"), then remember every change."""
        theme = self.ui_settings.get("theme")
        if isinstance(theme, str) and theme in self.available_themes:
            self.theme = theme
        self.theme_changed_signal.subscribe(self, self._remember_theme)

    def _remember_theme(self, theme) -> None:
        if self.ui_settings.get("theme") != theme.name:
            self.ui_settings.set("theme", theme.name)

    @work(thread=True, exit_on_error=False, group="load")
    def load_curriculum(self) -> None:
        # Only the YAML is read here (the slow part). The store's one SQLite connection
        # belongs to the UI thread: a worker using it while the UI writes would interleave
        # two transactions on one connection.
        try:
            result = self.session.load_result
        except Exception as e:  # a broken YAML folder: say so on the desk  # noqa: BLE001
            self.call_from_thread(self._load_failed, f"{type(e).__name__}: {e}")
            return
        self.call_from_thread(self._loaded, result)

    def _loaded(self, result) -> None:
        try:
            store = self.session.store
            version = store.data_version()  # before reading: a change made meanwhile is seen
            state = StudyState.compute(result.curriculum, store)
        except crash.DATABASE_ERRORS as e:  # a damaged or unwritable database
            self.show_damaged_database(e)
            return
        except Exception as e:  # noqa: BLE001 - a curriculum that cannot be built: say so on the desk
            self._load_failed(f"{type(e).__name__}: {e}")
            return
        self.problems = list(getattr(result, "problems", []) or [])
        self.notes = NoteSaver(store, schedule=self.set_timer)
        self._data_version = version
        self._set_state(state)
        if self.poll_s:
            self.set_interval(self.poll_s, self.poll_store, name="store-poll")
        if self.problems:
            self.notify(
                f"{len(self.problems)} curriculum problem(s); run `studytui validate` to see them",
                severity="warning",
                timeout=6,
            )

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
        self.screen.post_message(StateChanged())
        # screens under a modal or in other modes catch up when they are shown again

    def refresh_state(self) -> None:
        """Recompute after a change made here (our own writes do not move data_version)."""
        if self.state is None or self.database_problem:
            return
        try:
            state = StudyState.compute(self.state.curriculum, self.session.store)
        except crash.DATABASE_ERRORS as e:
            self.show_damaged_database(e)
            return
        self._set_state(state)

    def poll_store(self) -> None:
        """Pick up changes other processes committed (the CLI, another desk)."""
        if self.state is None or self.database_problem:
            return
        try:
            version = self.session.store.data_version()
        except crash.DATABASE_ERRORS as e:
            self.show_damaged_database(e)
            return
        if version != self._data_version:
            self._data_version = version
            self.refresh_state()

    # -- modes that block everything: too small, damaged database -----------------------------
    async def _on_resize(self, event: events.Resize) -> None:
        # Textual's own handler stops the event, so a public `on_resize` never runs here.
        await super()._on_resize(event)
        self._check_size()

    def _check_size(self) -> None:
        width, height = self.size
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        if small and self.current_mode not in BLOCKING_MODES:
            self._block("too-small")
        elif not small and self.current_mode == "too-small":
            self._unblock()

    def _block(self, mode: str) -> None:
        if self.current_mode not in BLOCKING_MODES:
            self._blocked_from = self.current_mode
        self.switch_mode(mode)

    def _unblock(self) -> None:
        self.switch_mode(self._blocked_from or "desk")
        self._blocked_from = None

    def show_damaged_database(self, error: BaseException) -> None:
        """A database that cannot be read: one screen that says so, and what to do."""
        self.database_problem = crash.database_problem(error, self.session)
        self.state = None
        self.load_error = self.database_problem
        self._block("damaged")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.current_mode in BLOCKING_MODES and action not in ("quit", "help"):
            return False
        return super().check_action(action, parameters)

    def action_switch_mode(self, mode: str) -> None:
        if self.current_mode in BLOCKING_MODES:
            return
        self.switch_mode(mode)

    # -- a crash still exits non-zero, with its traceback in a log file ------------------------
    async def _dispatch_message(self, message) -> None:
        # Keys, bindings and timers run screens' actions in the app's own message loop, and
        # any of them may read the store: a damaged database found there is shown, not raised
        # (an exception would end this loop, and with it the app).
        try:
            await super()._dispatch_message(message)
        except crash.DATABASE_ERRORS as error:
            self.show_damaged_database(error)
        except StoreError as error:  # a request the store refused, which a screen did not expect
            self.notify(clean(str(error)), severity="error", markup=False)

    def _handle_exception(self, error: Exception) -> None:
        if crash.is_database_error(error) and self._exception is None:
            # From a widget's own loop (that widget stops; the app goes on): the same screen.
            self.show_damaged_database(error)
            return
        self.crash_log = crash.write_crash_log(self.session, error, self.crash_log)
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        # Textual prints the whole traceback (with locals) to the terminal; we print one line
        # that names the log file holding it.
        self.bell()
        self._exit_renderables.append(crash.crash_line(self.crash_log))
        self._close_messages_no_wait()

    # -- actions every screen uses ---------------------------------------------------------------
    def set_status(self, key: str, status: str) -> None:
        if self.state is None:
            return
        try:
            # Through the review module: marking an item done adds its terms' cards to the deck.
            from studytui import review

            old = review.set_status(self.session.store, self.state.curriculum, key, status, source="tui")
        except crash.DATABASE_ERRORS as e:
            self.show_damaged_database(e)
            return
        if old != status:
            self.refresh_state()

    def action_undo(self) -> None:
        if self.state is None:
            return
        try:
            if self.notes:
                self.notes.flush()  # a note typed just now is a change too: undo sees it in order
            undone = self.session.store.undo(source="tui")
        except crash.DATABASE_ERRORS as e:
            self.show_damaged_database(e)
            return
        if undone is None:
            self.notify("Nothing to undo.")
            return
        what = {
            "status": f"status back to {undone['old']}",
            "note": "note change",
            "time": "logged time",
        }.get(undone["kind"], undone["kind"])
        self.notify(clean(f"Undid {what}: {undone['key']}"), markup=False)
        self.refresh_state()
        self.screen.post_message(NoteChanged())

    def toggle_timer(self, key: str) -> None:
        if self.timer.running:
            stopped_key = self.timer.key
            self.stop_timer()
            if stopped_key == key:
                return
        self.timer.start(key)
        self.notify(clean(f"Timer started: {key}"), markup=False)
        self._update_status_bars()

    def stop_timer(self) -> None:
        logged = self.timer.stop(self.session.store) if self.timer.running else None
        if logged:
            from studytui.tui.format import fmt_clock

            self.notify(clean(f"Logged {fmt_clock(logged[1])} on {logged[0]}"), markup=False)
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
        # The link's visible text is its target, and both are the cleaned URL.
        self.notify(_link_markup(url) + "\n(copied to your clipboard)", title="Link", timeout=15)

    @work(thread=True, exit_on_error=False, group="browser")
    def _open_browser(self, url: str) -> None:
        if links.open_in_browser(url):
            self.call_from_thread(self.notify, clean(f"Opened {url}"), markup=False)
        else:
            self.call_from_thread(
                self.notify, clean(f"No browser; the link: {url}"), markup=False, timeout=15
            )
            self.call_from_thread(self.copy_to_clipboard, url)

    def _go(self, mode: str, message) -> None:
        """Switch to a mode, then hand its screen a message (handled once it is composed)."""
        if self.current_mode in BLOCKING_MODES:
            return
        self.switch_mode(mode)
        self.screen_stack[0].post_message(message)  # the mode's own screen, under any dialog

    def show_item(self, key: str) -> None:
        """Go to an item (or a `course:ID` branch) in the curriculum tree."""
        self._go("curriculum", ShowItem(key))

    def show_term(self, term_id: str) -> None:
        self._go("glossary", ShowTerm(term_id))

    def labs_available(self) -> bool:
        # Found, not imported: the labs screen pulls in the chart libraries.
        return importlib.util.find_spec("studytui.tui.screens.labs") is not None

    def action_labs(self, lab: str | None = None) -> None:
        if not self.labs_available():
            self.notify("No labs yet.")
            return
        if self.current_mode in BLOCKING_MODES:
            return
        self.switch_mode("labs")
        if lab:
            # Asked for one lab (from an item): show the list, not a run left open earlier.
            while len(self.screen_stack) > 1:
                self.pop_screen()
            self.screen_stack[0].post_message(PickLab(lab))

    def action_help(self) -> None:
        from textual.screen import ModalScreen

        from studytui.tui.screens.help import HelpScreen

        if isinstance(self.screen, ModalScreen):
            return  # a dialog (or the help itself) is open: it has its own keys
        self.push_screen(HelpScreen(context=self.help_context()))

    def help_context(self) -> str:
        """Which section of the help belongs to what is on screen."""
        return getattr(self.screen, "HELP_SECTION", "") or ""

    def toggle_ascii(self) -> None:
        self.ascii_only = not self.ascii_only
        self.glyphs = glyphs_for(self.ascii_only)
        self.set_class(self.ascii_only, "-ascii")
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
                except Exception:  # quitting: save what can be saved  # noqa: BLE001
                    pass
        if self.notes is not None:
            try:
                self.notes.flush()
            except Exception:  # quitting: save what can be saved  # noqa: BLE001
                pass
        if self.timer.running and self.state is not None:
            try:
                self.timer.stop(self.session.store)
            except Exception:  # quitting: save what can be saved  # noqa: BLE001
                pass

    def on_unmount(self) -> None:
        self.save_everything()
        self._remove_sighup()

    async def action_quit(self) -> None:
        self.save_everything()
        self.exit(return_code=2 if self.database_problem else 0)

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


SCREENS = {
    "desk": ("desk", "DeskScreen"),
    "curriculum": ("curriculum", "CurriculumScreen"),
    "glossary": ("glossary", "GlossaryScreen"),
    "reading": ("reading", "ReadingScreen"),
    "labs": ("labs", "LabsScreen"),
    "review": ("review", "ReviewScreen"),
    "too-small": ("too_small", "TooSmallScreen"),
    "damaged": ("damaged", "DamagedDatabaseScreen"),
}
NEEDS_SESSION = ("labs",)


def _make_screen(mode: str, session: Session):
    module, name = SCREENS[mode]
    screen_class = getattr(importlib.import_module(f"studytui.tui.screens.{module}"), name)
    return screen_class(session) if mode in NEEDS_SESSION else screen_class()


def _link_markup(url: str) -> str:
    """Notification markup for a URL: a hyperlink only when the URL cannot break out of it."""
    shown = safetext.markup_escape(url)
    return f"[link='{url}']{shown}[/link]" if safetext.is_linkable(url) else shown


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
