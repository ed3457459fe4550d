"""Pilot tests of the study desk's main flows (fixed curriculum, temporary home, no torch)."""

from __future__ import annotations

import os
import signal

from test_tui_fixtures import TODAY, FakeClock, home, make_session, screen_text, seed_history, sync, until  # noqa: F401
from textual.widgets import Input, OptionList

from studytui.curriculum.model import Course, Curriculum, Item, Section
from studytui.store import Store
from studytui.tui import links
from studytui.tui.app import build_app
from studytui.tui.screens.curriculum import CurriculumScreen
from studytui.tui.screens.glossary import GlossaryScreen
from studytui.tui.widgets.curriculum_tree import CurriculumTree
from studytui.tui.widgets.note_editor import NoteEditor

SIZE = (100, 32)


def desk(session, **kw):
    kw.setdefault("today", lambda: TODAY)
    kw.setdefault("poll_s", None)
    kw.setdefault("watch_runs", False)
    return build_app(session, **kw)


async def at_item(app, pilot, key: str) -> CurriculumScreen:
    await until(pilot, lambda: app.loaded)
    app.show_item(key)
    await until(pilot, lambda: isinstance(app.screen, CurriculumScreen) and app.screen.current == key)
    await pilot.pause()
    return app.screen


def tree_line(app, key: str) -> str:
    tree = app.screen.query_one(CurriculumTree)
    return tree.label_for(key).plain


@sync
async def test_mark_toggle_and_undo(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await at_item(app, pilot, "llm/tokenizer")
        await pilot.press("x")
        assert s.store.status_of("llm/tokenizer") == "done"
        assert tree_line(app, "llm/tokenizer").startswith("[✔]")
        assert "1/6" in tree_line(app, "course:llm")
        await pilot.press("i")
        assert s.store.status_of("llm/tokenizer") == "doing"
        await pilot.press("i")  # again: back to todo
        assert s.store.status_of("llm/tokenizer") == "todo"
        await pilot.press("u")  # undo the last: doing again
        assert s.store.status_of("llm/tokenizer") == "doing"
        await pilot.press("u", "u")
        assert s.store.status_of("llm/tokenizer") == "todo"
        assert tree_line(app, "llm/tokenizer").startswith("[·]")
        assert "0/6" in tree_line(app, "course:llm")


@sync
async def test_marking_a_playlist_counts_its_videos(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await at_item(app, pilot, "llm/zero-to-hero")
        await pilot.press("x")
        assert "3/3" in tree_line(app, "llm/zero-to-hero")
        assert "3/6" in tree_line(app, "course:llm")


@sync
async def test_note_is_saved_after_a_pause_in_typing(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await at_item(app, pilot, "llm/intro")
        await pilot.press("n")
        assert isinstance(app.focused, NoteEditor)
        await pilot.press(*"tokens")
        await until(pilot, lambda: s.store.note("llm/intro") == "tokens", timeout=3)


@sync
async def test_note_survives_an_abrupt_exit(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await at_item(app, pilot, "llm/intro")
        await pilot.press("n", *"half")
        app.exit()  # no pause: the debounce never fired
    assert Store(s.store.path).note("llm/intro") == "half"


@sync
async def test_note_survives_sighup(home):
    """A dropped SSH connection sends SIGHUP: the typed text is flushed before we go."""
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await at_item(app, pilot, "llm/attention")
        await pilot.press("n", *"q k v")
        os.kill(os.getpid(), signal.SIGHUP)
        await until(pilot, lambda: app.return_code is not None, timeout=3)
    assert Store(s.store.path).note("llm/attention") == "q k v"
    assert app.return_code == 129
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL  # the handler leaves with the app


@sync
async def test_timer_logs_time_on_stop_and_on_quit(home):
    s = make_session(home)
    clock = FakeClock()
    app = desk(s, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await at_item(app, pilot, "llm/tokenizer")
        await pilot.press("t")
        assert app.timer.running
        clock.now += 125
        app._update_status_bars()
        assert "02:05" in screen_text(app)
        await pilot.press("t")
        assert s.store.time_by_key() == {"llm/tokenizer": 125}
        await pilot.press("t")
        clock.now += 60
        await pilot.press("q")
    assert Store(s.store.path).time_by_key() == {"llm/tokenizer": 185}


@sync
async def test_glossary_filter_see_also_back_and_taught_by(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, GlossaryScreen))
        screen = app.screen
        await pilot.press("slash")
        screen.query_one("#term-filter", Input).value = "byte pair"  # an alias finds the term
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert screen.term_id == "bpe"
        related = screen.query_one("#term-related", OptionList)
        related.focus()
        ids = [related.get_option_at_index(i).id for i in range(related.option_count)]
        assert ids[:3] == ["term:tokenization", "item:llm/intro", "item:llm/tokenizer"]
        related.highlighted = 0
        await pilot.press("enter")
        assert screen.term_id == "tokenization"
        await pilot.press("b")
        assert screen.term_id == "bpe"
        related.focus()
        related.highlighted = ids.index("item:llm/tokenizer")
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, CurriculumScreen) and app.screen.current == "llm/tokenizer"
        )


@sync
async def test_glossary_fuzzy_filter(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("g", "slash")
        await pilot.pause()
        app.screen.query_one("#term-filter", Input).value = "atention"  # a typo still finds it
        await pilot.pause()
        terms = app.screen.query_one("#term-list", OptionList)
        assert terms.get_option_at_index(0).id == "attention"


@sync
async def test_curriculum_term_jumps_to_glossary(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        screen = await at_item(app, pilot, "llm/intro")
        related = screen.query_one("#detail-related", OptionList)
        related.focus()
        related.highlighted = [related.get_option_at_index(i).id for i in range(related.option_count)].index(
            "term:bpe"
        )
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, GlossaryScreen) and app.screen.term_id == "bpe")


@sync
async def test_reading_list_add_archive_and_move(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("r", "a")
        await pilot.pause()
        app.screen.query_one("#add-url", Input).value = "not a url"
        await pilot.press("ctrl+s")  # refused: the dialog stays open
        await pilot.pause()
        assert "must start with http" in screen_text(app)
        assert s.store.reading() == []
        url_input = app.screen.query_one("#add-url", Input)
        url_input.value = "https://jalammar.github.io/illustrated-transformer/"
        app.screen.query_one("#add-title", Input).value = "The Illustrated Transformer"
        app.screen.query_one("#add-tags", Input).value = "transformer, visual"
        await pilot.press("ctrl+s")
        await pilot.pause()
        rows = s.store.reading("inbox")
        assert [(r["title"], r["tags"]) for r in rows] == [
            ("The Illustrated Transformer", ["transformer", "visual"])
        ]
        assert "The Illustrated Transformer" in screen_text(app)
        await pilot.press("x")
        assert s.store.reading("inbox") == [] and len(s.store.reading("archive")) == 1
        await pilot.press("f")  # the archive view
        assert "The Illustrated Transformer" in screen_text(app)
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("down", "enter")  # the second course
        await pilot.pause()
        assert [(r["status"], r["course"]) for r in s.store.reading()] == [("course", "gpu")]


async def palette_pick(app, pilot, query: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    app.screen.query_one(Input).value = query  # typed at once: the search runs once
    await pilot.pause(0.4)
    await pilot.press("enter")


@sync
async def test_palette_finds_items_and_terms(home):
    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await palette_pick(app, pilot, "tokenizer")
        await until(
            pilot, lambda: isinstance(app.screen, CurriculumScreen) and app.screen.current == "llm/tokenizer"
        )
        await palette_pick(app, pilot, "self-attention")
        await until(
            pilot, lambda: isinstance(app.screen, GlossaryScreen) and app.screen.term_id == "attention"
        )


@sync
async def test_cli_changes_show_up_without_restart(home):
    s = make_session(home)
    app = desk(s, poll_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await at_item(app, pilot, "gpu/flash")
        other = Store(s.store.path)  # another process's connection (the CLI)
        other.set_status("gpu/flash", "done")
        other.set_note("gpu/flash", "from the shell")
        await until(pilot, lambda: tree_line(app, "gpu/flash").startswith("[✔]"))
        await until(pilot, lambda: app.screen.query_one(NoteEditor).text == "from the shell")


@sync
async def test_desk_shows_progress_and_opens_a_course(home):
    s = make_session(home)
    seed_history(s)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.pause()
        text = screen_text(app)
        assert "2/6" in text and "0/3" in text
        assert "3 day streak" in text
        assert "Zero to Hero part 2" in text  # doing: first in next up
        await pilot.press("enter")  # the course table has focus
        await until(
            pilot, lambda: isinstance(app.screen, CurriculumScreen) and app.screen.current == "course:llm"
        )


@sync
async def test_big_curriculum_builds_few_tree_nodes(home):
    courses = []
    for c in range(10):
        sections = tuple(
            Section(
                f"s{s}",
                f"Section {s}",
                "",
                tuple(Item(f"c{c}", f"i{s}-{i}", f"Item {s}.{i}", section_id=f"s{s}") for i in range(100)),
            )
            for s in range(10)
        )
        courses.append(Course(f"c{c}", f"Course {c}", sections=sections, order=c))
    cur = Curriculum.build(courses, [])
    assert len(cur.items_by_key) == 10_000
    s = make_session(home, cur)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await at_item(app, pilot, "c7/i3-42")
        tree = app.screen.query_one(CurriculumTree)
        assert tree.cursor_node.data == "c7/i3-42"
        assert len(tree._branches) < 200  # 10 courses + 10 sections + 100 items


@sync
async def test_ascii_glyphs(home, monkeypatch):
    monkeypatch.setenv("STUDYTUI_ASCII", "1")
    s = make_session(home)
    seed_history(s)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await at_item(app, pilot, "llm/intro")
        assert tree_line(app, "llm/intro").startswith("[x]")
        assert "✔" not in screen_text(app)
        app.toggle_ascii()
        await pilot.pause()  # the screen redraws on the StateChanged message
        assert tree_line(app, "llm/intro").startswith("[✔]")


def test_browser_only_where_one_can_be_seen():
    assert links.can_open_browser({"DISPLAY": ":0"}, "linux")
    assert not links.can_open_browser({}, "linux")
    assert not links.can_open_browser({"DISPLAY": ":0", "SSH_CONNECTION": "1 2 3 4"}, "linux")
    assert not links.can_open_browser({"SSH_TTY": "/dev/pts/1"}, "darwin")
    assert links.can_open_browser({}, "darwin")


@sync
async def test_link_over_ssh_is_shown_and_copied(home, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22")
    opened = []
    monkeypatch.setattr(links, "open_in_browser", opened.append)
    s = make_session(home)
    app = desk(s)
    copied = []
    app.copy_to_clipboard = copied.append
    async with app.run_test(size=SIZE) as pilot:
        await at_item(app, pilot, "llm/intro")
        await pilot.press("o")
        await pilot.pause()
        assert copied == ["https://www.youtube.com/watch?v=zjkBMFhNj_g"]
        assert opened == []
        assert any("zjkBMFhNj_g" in str(n.message) for n in app._notifications)


@sync
async def test_load_failure_is_one_line_on_the_desk(home):
    s = make_session(home)
    del s.__dict__["load_result"]
    s.extra_curriculum = [home / "missing"]

    class Broken:
        @property
        def curriculum(self):
            raise ValueError("bad.yaml:3:1: nope")

    s.__dict__["load_result"] = Broken()
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.load_error is not None)
        await pilot.pause()
        assert "bad.yaml:3:1: nope" in screen_text(app)


@sync
async def test_labs_strip_shows_running_runs(home):
    from studytui.tui.widgets.labs_strip import LabsStrip

    s = make_session(home)
    app = desk(s)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded)
        strip = app.screen.query_one(LabsStrip)
        assert "none running" in screen_text(app)
        strip.show_rows(
            [
                {
                    "lab": "gpt",
                    "id": "gpt-20250314-120000-ab12",
                    "status": "running",
                    "last": {"step": 120, "loss": 3.2841},
                }
            ]
        )
        await pilot.pause()
        assert "gpt gpt-20250314-120000-ab12 step 120 loss 3.284" in screen_text(app)
        strip.show_rows([])
        await pilot.pause()
        assert "none running" in screen_text(app)


class _ThreadRecordingConnection:
    """Stands in for the store's sqlite3 connection and notes which thread used it."""

    def __init__(self, conn):
        self._conn = conn
        self.threads: set[str] = set()

    def _note_thread(self) -> None:
        import threading

        self.threads.add(threading.current_thread().name)

    def execute(self, *args):
        self._note_thread()
        return self._conn.execute(*args)

    def executemany(self, *args):
        self._note_thread()
        return self._conn.executemany(*args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


@sync
async def test_the_ui_store_is_used_only_on_the_ui_thread(home):
    import threading

    s = make_session(home)
    (home / "runs").mkdir(parents=True)  # the labs strip polls through its own connection
    recorder = _ThreadRecordingConnection(s.store.conn)
    s.store.conn = recorder
    app = desk(s, poll_s=0.05, watch_runs=True)
    async with app.run_test(size=SIZE) as pilot:
        await at_item(app, pilot, "llm/tokenizer")
        await pilot.press("x", "t")
        await pilot.pause(0.2)  # a few store polls and a labs-strip poll
        await pilot.press("t", "u")
    assert recorder.threads == {threading.main_thread().name}
