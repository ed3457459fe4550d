"""What every CLI command shares: the session from global options, errors, JSON output.

Errors a user can cause are one line on stderr and a non-zero exit (1 for a request that
can't be done, 2 for bad usage), never a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

from studytui.session import Session

console = Console()
err_console = Console(stderr=True)


def session(ctx: typer.Context) -> Session:
    """The Session the main callback built from --db / --curriculum / STUDYTUI_HOME."""
    root = ctx.find_root()
    if not isinstance(root.obj, Session):
        root.obj = Session()
    return root.obj


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")
