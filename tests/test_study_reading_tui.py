"""The desk's reading list refuses a URL it already holds with a notice, not the
damaged-database screen (the store's refusal is a StoreError like a damaged file's)."""

from __future__ import annotations

from test_tui_fixtures import TODAY, home, make_session, screen_text, sync, until  # noqa: F401
from textual.widgets import Input

from studytui.tui.app import build_app


@sync
async def test_adding_a_url_twice_is_refused_with_a_notice(home):
    s = make_session(home)
    first = s.store.add_reading("https://jalammar.github.io/illustrated-transformer/", "Illustrated")
    app = build_app(s, today=lambda: TODAY, poll_s=None, watch_runs=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: app.loaded)
        await pilot.press("r", "a")
        await pilot.pause()
        app.screen.query_one("#add-url", Input).value = "http://jalammar.github.io/illustrated-transformer"
        app.screen.query_one("#add-title", Input).value = "Again"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert [r["id"] for r in s.store.reading()] == [first]
        assert type(app.screen).__name__ == "ReadingScreen"
        assert any("already holds" in str(n.message) for n in app._notifications)
        assert "damaged" not in screen_text(app).lower()
