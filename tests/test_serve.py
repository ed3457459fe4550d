"""`studytui serve`: loopback by default, one URL line, websockets only from its own page,
and the desk itself (with the user's options) drawn in a real browser.

The browser test drives Debian's headless Chromium through the DevTools protocol: the
desk draws on an xterm.js canvas, which `--dump-dom` cannot read, so the test reads the
bytes the page's own websocket received (the desk's drawing, text included) and the page's
`-first-byte` mark, which textual.js sets once the desk's output reaches the terminal.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from studytui.cli.main import app
from studytui.cli.serve import allowed_origins, desk_command, is_loopback
from studytui.session import Session

CHROMIUM = shutil.which("chromium")
COURSE_TITLE = "Served through a browser"
# How long a wait may last (an upper bound, not a pause): on 2 cores beside the rest of the
# suite, a cold Chromium took over 15 s to open its DevTools port in one CI run.
WAIT_S = 60
COURSE = f"""\
id: served
title: {COURSE_TITLE}
order: 1
sections:
  - id: start
    title: Start
    items:
      - id: first
        title: The first item
        kind: post
        url: https://example.com/first
"""
CSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def process_group(argv: list[str], **popen):
    """A process in its own group, killed with all its children (the desks) whatever happens."""
    proc = subprocess.Popen(argv, start_new_session=True, **popen)
    try:
        yield proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the server closes its desks
            proc.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left
        except ProcessLookupError:
            pass
        proc.wait(5)


def read_line(stream, timeout_s: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout_s)
    assert ready, f"no line within {timeout_s} s"
    return stream.readline().decode()


def wait_for_http(url: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def desk_text(frames: bytes) -> str:
    return CSI.sub(b"", frames).decode("utf-8", "replace")


@pytest.fixture
def curriculum_dir(tmp_path) -> Path:
    folder = tmp_path / 'it\'s a "course" $(touch pwned) dir'  # quoting must hold
    folder.mkdir()
    (folder / "served.yaml").write_text(COURSE, encoding="utf-8")
    return folder


@pytest.fixture
def served(tmp_path, curriculum_dir):
    """`studytui serve` on a free port with a temporary home: (url, home, stderr file)."""
    home = tmp_path / "home"
    port = free_port()
    env = {**os.environ, "STUDYTUI_HOME": str(home)}
    env.pop("STUDYTUI_CURRICULUM", None)
    stderr_path = tmp_path / "serve.err"
    argv = [
        sys.executable,
        "-m",
        "studytui",
        "--no-builtin",
        "--curriculum",
        str(curriculum_dir),
        "serve",
        "--port",
        str(port),
    ]
    with (
        stderr_path.open("wb") as stderr,
        process_group(argv, stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=tmp_path) as proc,
    ):
        line = read_line(proc.stdout, 15)
        assert line == f"studytui serve: the study desk is at http://127.0.0.1:{port}  (Ctrl+C stops)\n", (
            stderr_path.read_text()
        )
        page = wait_for_http(f"http://127.0.0.1:{port}/", WAIT_S)
        yield f"http://127.0.0.1:{port}", home, stderr_path, page
    assert not (tmp_path / "pwned").exists()


# -- the address -----------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.com"])
def test_a_non_loopback_address_is_refused_without_public(host):
    result = CliRunner().invoke(app, ["serve", "--host", host])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "not a loopback address" in lines[0] and "--public" in lines[0]


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.1", False),
        ("localhost.evil.com", False),
        ("", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_a_bad_public_url_is_one_line_exit_2():
    result = CliRunner().invoke(app, ["serve", "--public-url", "javascript:alert(1)"])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "--public-url" in result.output


def test_a_taken_port_is_one_line_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "studytui", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "STUDYTUI_HOME": str(tmp_path / "home")},
        )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in done.stderr


# -- what the server runs and whom it lets in -------------------------------------------------


def test_the_desk_command_carries_the_global_options_quoted(tmp_path):
    odd = tmp_path / "a b'c\"$(x);`y`"
    sess = Session(
        home=odd / "home", db=odd / "my.db", extra_curriculum=[odd / "c1", odd / "c2"], builtin=False
    )
    argv = shlex.split(desk_command(sess))
    assert argv == [
        sys.executable,
        "-m",
        "studytui",
        "--home",
        str(odd / "home"),
        "--db",
        str(odd / "my.db"),
        "--curriculum",
        str(odd / "c1"),
        "--curriculum",
        str(odd / "c2"),
        "--no-builtin",
    ]


def test_the_desk_command_leaves_out_options_not_given(tmp_path):
    argv = shlex.split(desk_command(Session(home=tmp_path)))
    assert argv == [sys.executable, "-m", "studytui", "--home", str(tmp_path)]


def test_allowed_origins():
    assert allowed_origins("127.0.0.1", 8000, "http://127.0.0.1:8000") == {
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
    }
    # Behind ssh -L to another local port, or a proxy: the public URL's origin, and on a
    # public address nothing else.
    assert "http://localhost:9000" in allowed_origins("127.0.0.1", 8000, "http://localhost:9000/")
    assert allowed_origins("0.0.0.0", 8000, "https://Box.Example:443") == {"https://box.example:443"}


def test_the_page_and_only_its_own_origin_may_open_the_desk(served):
    url, _home, stderr_path, page = served
    import aiohttp

    assert f'data-session-websocket-url="ws://127.0.0.1:{url.rsplit(":", 1)[1]}/ws"' in page

    async def handshake_status(origin: str | None) -> int:
        headers = {"Origin": origin} if origin else {}
        async with aiohttp.ClientSession() as client:
            try:
                async with client.ws_connect(f"{url}/ws", headers=headers):
                    return 101
            except aiohttp.WSServerHandshakeError as e:
                return e.status

    assert asyncio.run(handshake_status("http://evil.example")) == 403
    assert asyncio.run(handshake_status(None)) == 403
    assert 'refused a websocket from origin "http://evil.example"' in stderr_path.read_text()


# -- the desk in a browser --------------------------------------------------------------------


@pytest.mark.slow
def test_a_desk_opened_over_the_websocket_draws_the_users_curriculum(served):
    """Without a browser: the page's own origin gets a desk, run with the --curriculum and
    the home the user gave."""
    url, home, _stderr, _page = served
    import aiohttp

    async def desk_frames() -> bytes:
        frames = b""
        async with aiohttp.ClientSession() as client:
            async with client.ws_connect(f"{url}/ws?width=100&height=30", headers={"Origin": url}) as ws:
                deadline = time.monotonic() + WAIT_S
                while COURSE_TITLE not in desk_text(frames) and time.monotonic() < deadline:
                    try:
                        message = await asyncio.wait_for(ws.receive(), 1)
                    except asyncio.TimeoutError:
                        continue
                    if message.type == aiohttp.WSMsgType.BINARY:
                        frames += message.data
                    elif message.type != aiohttp.WSMsgType.TEXT:
                        break
        return frames

    assert COURSE_TITLE in desk_text(asyncio.run(desk_frames()))
    assert (home / "studytui.db").is_file()


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_headless_chromium_shows_the_desk(served, tmp_path):
    url, home, stderr_path, _page = served
    import aiohttp

    devtools_log = tmp_path / "chromium.err"
    argv = [
        CHROMIUM,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--remote-debugging-port=0",
        f"--user-data-dir={tmp_path / 'profile'}",
        "about:blank",
    ]
    with devtools_log.open("wb") as log, process_group(argv, stdout=subprocess.DEVNULL, stderr=log):
        deadline = time.monotonic() + WAIT_S
        while not (found := re.search(r"DevTools listening on ws://([^/\s]+)/", devtools_log.read_text())):
            assert time.monotonic() < deadline, devtools_log.read_text()[-2000:]
            time.sleep(0.1)
        pages = json.loads(wait_for_http(f"http://{found.group(1)}/json/list", WAIT_S))
        page_ws = next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")

        async def watch_the_page() -> tuple[bytes, bool]:
            """Open the desk's URL; collect what its websocket receives until the course
            title arrives; then ask the page whether its terminal got the desk's bytes."""
            frames, body_marked = b"", False
            async with aiohttp.ClientSession() as client:
                async with client.ws_connect(page_ws, max_msg_size=0) as cdp:
                    await cdp.send_json({"id": 1, "method": "Network.enable"})
                    await cdp.send_json({"id": 2, "method": "Page.navigate", "params": {"url": url}})
                    deadline = time.monotonic() + WAIT_S
                    while COURSE_TITLE not in desk_text(frames) and time.monotonic() < deadline:
                        try:
                            message = json.loads((await asyncio.wait_for(cdp.receive(), 1)).data)
                        except asyncio.TimeoutError:
                            continue
                        if message.get("method") == "Network.webSocketFrameReceived":
                            frame = message["params"]["response"]
                            if frame["opcode"] == 2:
                                frames += base64.b64decode(frame["payloadData"])
                    await cdp.send_json(
                        {
                            "id": 3,
                            "method": "Runtime.evaluate",
                            "params": {"expression": "document.body.classList.contains('-first-byte')"},
                        }
                    )
                    while True:
                        reply = json.loads((await asyncio.wait_for(cdp.receive(), 5)).data)
                        if reply.get("id") == 3:
                            body_marked = reply["result"]["result"]["value"]
                            break
            return frames, body_marked

        frames, body_marked = asyncio.run(watch_the_page())
    text = desk_text(frames)
    assert COURSE_TITLE in text, text[-2000:]
    assert body_marked  # textual.js wrote the desk's bytes into the page's terminal
    assert "a browser opened the desk" in stderr_path.read_text()
    assert (home / "studytui.db").is_file()
