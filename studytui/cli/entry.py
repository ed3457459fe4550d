"""The console script's entry point: kept tiny so a Ctrl+C during start-up (while typer,
rich and the store are still importing) ends quietly instead of with an import traceback."""

import sys


def run() -> None:
    try:
        from studytui.cli.main import run as main
    except KeyboardInterrupt:
        sys.exit(130)
    main()
