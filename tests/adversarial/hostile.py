"""Hostile text shared by the adversarial tests, and the check that none of it reaches a
terminal. A module of its own (not conftest) so that tests import it by a name no other
test folder uses."""

from __future__ import annotations

import json
import re

# Text that has broken terminals or Rich somewhere: OSC window title, OSC 52 clipboard,
# a spoofed OSC 8 link, a screen wipe, a C1 CSI, bidi overrides, Rich markup, lone markup.
HOSTILE_STRINGS = [
    "\x1b]0;pwned\x07",
    "\x1b]52;c;ZXZpbA==\x07",
    "\x1b]8;;https://evil.example\x1b\\https://good.example\x1b]8;;\x1b\\",
    "\x1b[2J\x1b[H",
    "\x9b31m c1 csi",
    "invoice\u202eexe.pdf",
    "\u2066isolate\u2069",
    "[/]",
    "[link=file:///etc/passwd]x[/link]",
    "[bold",
    "prompt=a[i]",
    "\x07\x08\x7f\x00",
]

# What must never reach a terminal from data. \n and \t are layout; \r is allowed only as
# part of \r\n, which no renderer here emits, so it is refused too.
UNSAFE_OUTPUT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def assert_terminal_safe(text: str, where: str = "output") -> None:
    found = UNSAFE_OUTPUT.search(text)
    assert found is None, (
        f"{where} holds {found.group()!r} at {found.start()}: {text[max(0, found.start() - 40) : found.start() + 40]!r}"
    )
    assert "Traceback" not in text, f"{where} holds a traceback:\n{text}"


HOSTILE_NOTE = "note \x1b]0;pwned\x07 [/] [link=file:///etc/passwd]x[/link] \u202eevil\n\x9b2J second line"
HOSTILE_READING = [
    # (url, title, kind, tags as stored, status, course)
    (
        "javascript:alert(1)",
        "\x1b[2J wiped [/]",
        "article",
        json.dumps(["[/]", "\x1b]0;x\x07"]),
        "inbox",
        None,
    ),
    (
        "https://good.example/",
        "[link=https://evil.example]https://good.example/[/link]",
        "\x1b[31mkind",
        "[/",
        "archive",
        None,
    ),  # tags that are not JSON at all
    ("https://example.org/\u202eexe", "\u202eevil", "paper", json.dumps([1, None]), "course", "[/]"),
]
HOSTILE_KEYS = ["evil/\x1b[31mred", "[/]", "evil/\u202eorphan"]
