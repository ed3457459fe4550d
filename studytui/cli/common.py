"""What every CLI command shares: the session from global options, errors, JSON output.

Errors a user can cause are one line on stderr and a non-zero exit (1 for a request that
can't be done, 2 for bad usage or a damaged environment), never a traceback. Messages
often quote what the user typed or what a file held: they are shown as text (never Rich
markup, no control characters) through studytui.safetext.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from studytui.safetext import clean, json_text, plain
from studytui.session import Session

console = Console()
err_console = Console(stderr=True)


def session(ctx: typer.Context) -> Session:
    """The Session the main callback built from --db / --curriculum / STUDYTUI_HOME."""
    root = ctx.find_root()
    if not isinstance(root.obj, Session):
        root.obj = Session()
    return root.obj


def error_line(message: object) -> None:
    """`error: MESSAGE` on stderr, the message as plain text whatever it holds."""
    from rich.text import Text

    err_console.print(
        Text("error: ", style="bold red") + plain(message),
        highlight=False,
        soft_wrap=True,
        markup=False,
        emoji=False,
    )


def fail(message: str, code: int = 1) -> NoReturn:
    error_line(message)
    raise typer.Exit(code)


def echo(text: object) -> None:
    """One line of untrusted text on stdout, control characters made visible."""
    sys.stdout.write(clean(text) + "\n")


def write_output(path: Path | None, text: str) -> None:
    """`text` to stdout, or written atomically to `path` (a FIFO, device or folder is refused
    with one line and exit 2) and "wrote PATH" said on stderr."""
    if path is None:
        sys.stdout.write(text)
        return
    from studytui.atomic import write_atomic

    try:
        write_atomic(path, text)
    except OSError as e:
        fail(f"cannot write {path}: {e.strerror or e}", 2)
    err_console.print(plain(f"wrote {path}"), highlight=False)


def print_json(obj: Any) -> None:
    sys.stdout.write(json_text(obj) + "\n")
