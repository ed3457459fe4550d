"""`studytui serve`: the study desk in a browser, through textual-serve.

textual-serve is a small web server: each browser tab that opens its page gets its own
desk, a `python -m studytui ...` subprocess speaking Textual's web driver over pipes. The
server listens on 127.0.0.1 unless told otherwise, because whoever reaches the port drives
the desk (it starts labs, edits notes): a learner on a GPU box forwards the port with
`ssh -L PORT:localhost:PORT HOST`. A non-loopback address needs `--public`.

textual-serve itself checks no Origin, so any web page open in the learner's browser could
open a websocket to 127.0.0.1:PORT and type into the desk (cross-site websocket hijacking,
or DNS rebinding). The server here accepts a websocket only from its own page's origin.

This module imports neither textual-serve nor aiohttp until the command runs: the CLI
mounts it and `studytui status` must stay fast.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import socket
import sys
from urllib.parse import urlsplit

import typer

from studytui.cli.common import err_console, fail, session
from studytui.safetext import clean, url_problem
from studytui.session import Session

DEFAULT_PORT = 8000
# What textual-serve puts in each desk process's environment (see its AppService): the
# desk then talks over its stdin/stdout pipes instead of a terminal.
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}


def in_browser(environ=os.environ) -> bool:
    """True inside a desk process that textual-serve started (its pipes are the terminal)."""
    return environ.get("TEXTUAL_DRIVER") == WEB_DRIVER


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other name may resolve to anything: only --public binds it


def url_host(host: str) -> str:
    """The host as a URL spells it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(host: str, port: int, public_url: str) -> set[str]:
    """The origins whose pages may open the desk's websocket: the public URL's own, and on
    loopback every spelling of this machine at this port (a browser shows localhost or
    127.0.0.1 as the user typed it)."""
    origins = {origin_of(public_url)}
    if is_loopback(host):
        origins |= {f"http://{name}:{port}" for name in ("localhost", "127.0.0.1", "[::1]")}
    return origins


def desk_command(sess: Session) -> str:
    """The shell command textual-serve runs for each browser: this Python, this package,
    and the global options the user gave, each quoted (textual-serve runs it through a shell)."""
    argv = [sys.executable, "-m", "studytui", "--home", str(sess.home.resolve())]
    if sess.db is not None:
        argv += ["--db", str(sess.db.resolve())]
    for folder in sess.extra_curriculum:
        argv += ["--curriculum", str(folder.resolve())]
    if not sess.builtin:
        argv.append("--no-builtin")
    return shlex.join(argv)


def _check_public_url(url: str) -> None:
    problem = url_problem(url)
    if problem:
        fail(f"--public-url {url}: {problem}", 2)


def serve(
    ctx: typer.Context,
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on. Anything but a loopback address needs --public."
    ),
    port: int = typer.Option(DEFAULT_PORT, "--port", "-p", min=1, max=65535, help="Port to listen on."),
    public: bool = typer.Option(
        False, "--public", help="Allow a non-loopback --host: anyone who reaches the port drives your desk."
    ),
    public_url: str | None = typer.Option(
        None,
        "--public-url",
        help="The URL browsers use, when it differs from http://HOST:PORT "
        "(ssh -L to another local port, a proxy).",
    ),
) -> None:
    """Open the study desk in a browser (textual-serve), on 127.0.0.1 unless told otherwise."""
    host = host.strip("[]")  # `[::1]`, as a URL spells it, is the address ::1
    if not is_loopback(host) and not public:
        fail(
            f"--host {host}: not a loopback address; anyone who reaches it drives your desk. "
            "Add --public to mean it, or reach 127.0.0.1 with `ssh -L`",
            2,
        )
    if public_url is not None:
        _check_public_url(public_url)
    sess = session(ctx)
    sess.store.check()  # a damaged database: one line here, not a blank page per browser
    shown_host = socket.gethostname() if host in WILDCARD_HOSTS else host
    url = (public_url or f"http://{url_host(shown_host)}:{port}").rstrip("/")
    _check_can_listen(host, port)
    server = _make_server(desk_command(sess), host, port, url, allowed_origins(host, port, url))
    try:
        server.serve()
    except OSError as e:  # taken between the check and now
        fail(f"cannot listen on {url_host(host)}:{port}: {_reason(e)}", 2)


def _check_can_listen(host: str, port: int) -> None:
    """Bind once before serving: a taken port or an address that is not this machine's is
    one line here, where older aiohttp (3.9) would also log a traceback from its shutdown."""
    try:
        for family, kind, proto, _name, address in socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM
        ):
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
                probe.bind(address)
    except OSError as e:
        fail(f"cannot listen on {url_host(host)}:{port}: {_reason(e)}", 2)


def _reason(error: OSError) -> str:
    if isinstance(error, socket.gaierror) or not error.errno or error.errno < 0:
        return error.strerror or str(error)  # a name that does not resolve
    return os.strerror(error.errno)  # not asyncio's long "error while attempting to bind..."


def _make_server(command: str, host: str, port: int, url: str, origins: set[str]):
    import logging

    from aiohttp import web
    from textual_serve.server import Server

    class DeskServer(Server):
        """textual-serve's Server, with one line saying where it is, quiet logs on stderr,
        and websockets only from its own page."""

        def initialize_logging(self) -> None:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("studytui serve: %(message)s"))
            logging.basicConfig(level=logging.WARNING, handlers=[handler])

        async def on_startup(self, app) -> None:
            # Written to stdout by itself, so a script (or a test) can read the URL from it.
            print(f"studytui serve: the study desk is at {self.public_url}  (Ctrl+C stops)", flush=True)
            if is_loopback(host):
                port_ = urlsplit(self.public_url).port or port
                err_console.print(
                    f"from another machine: ssh -L {port_}:localhost:{port_} THIS-HOST, "
                    "then open the same URL",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )

        async def handle_websocket(self, request):
            origin = (request.headers.get("Origin") or "").lower()
            if origin not in origins:
                # The page's own script always sends its origin; another site's page may not
                # drive the desk.
                err_console.print(
                    f'studytui serve: refused a websocket from origin "{clean(origin)}"',
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
                raise web.HTTPForbidden(text="studytui serve: this origin may not open the desk\n")
            err_console.print(
                "studytui serve: a browser opened the desk", highlight=False, markup=False, soft_wrap=True
            )
            return await super().handle_websocket(request)

    return DeskServer(command, host=host, port=port, title="studytui", public_url=url)
