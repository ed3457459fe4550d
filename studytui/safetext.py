"""Text from outside is data: the one module that makes untrusted strings safe to show.

studytui prints text it did not write (shared curricula, notes, reading entries, run
folders copied from a GPU box, backups) into terminals, often over SSH. Such text must
never be parsed as Rich/Textual markup, and must never reach the terminal carrying control
sequences (ESC/CSI/OSC can retitle the window, write the clipboard through OSC 52, plant a
spoofed OSC 8 link or wipe the screen) or bidi overrides (which make text read differently
from what it is). Every CLI renderer, widget and the markdown export goes through here.

    >>> clean("\\x1b]0;pwned\\x07title")
    '␛]0;pwned␇title'
    >>> plain("[bold]x[/]").plain
    '[bold]x[/]'

Rules:
- C0 controls (except `\\n` and `\\t` where the field may span lines), DEL and C1 controls
  become their visible Unicode "control picture" (`␛` for ESC) or `�` for C1, so a reader
  can see that something was there.
- Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and lone
  surrogates become `�`.
- Rich/Textual text is built as `Text`/`Content` objects from the cleaned string, never
  through `from_markup`; `markup_escape` is for the rare place that must build markup.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported lazily: `studytui status --json` need not pay for it
    from rich.text import Text

REPLACEMENT = "\ufffd"
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# Every character a terminal may act on: C0, DEL, C1, bidi controls; and lone surrogates
# (non-UTF-8 bytes smuggled in through argv or a JSON `\udcff`), which no terminal or
# database can encode.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_MULTILINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _picture(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟: U+2400 + the control's code
    if code == 0x7F:
        return "\u2421"  # ␡
    return REPLACEMENT


def clean(text: object, *, multiline: bool = False) -> str:
    """`text` as a string with every control character and bidi override made visible.

    Single-line fields (titles, ids, URLs, tags) lose their line breaks too (shown as `␊`);
    multi-line fields (summaries, definitions, notes, samples) keep `\\n` and `\\t`.
    """
    s = text if isinstance(text, str) else str(text)
    pattern = _UNSAFE_MULTILINE if multiline else _UNSAFE
    return pattern.sub(_picture, s) if pattern.search(s) else s


def unsafe_chars(text: str, *, multiline: bool = False) -> list[tuple[int, str]]:
    """(offset, name) of each character that `clean` would replace; for validators."""
    pattern = _UNSAFE_MULTILINE if multiline else _UNSAFE
    return [(m.start(), _char_name(m.group())) for m in pattern.finditer(text)]


def _char_name(ch: str) -> str:
    code = ord(ch)
    name = unicodedata.name(ch, "")
    if not name and code < 0x20:
        name = unicodedata.name(chr(0x2400 + code), "").removeprefix("SYMBOL FOR ")
    return f"U+{code:04X}" + (f" {name}" if name else "")


def plain(text: object, style: str = "", *, multiline: bool = False) -> "Text":
    """A Rich `Text` showing `text` exactly as written: no markup, no control sequences."""
    from rich.text import Text

    return Text(clean(text, multiline=multiline), style=style)


def link(url: object, style: str = "") -> "Text":
    """A clickable URL whose visible text is its target (no spoofed OSC 8 labels).

    The hyperlink is attached only when the cleaned URL is a plain http(s) URL with no
    spaces, brackets or quotes that could break out of the terminal's link syntax.
    """
    from rich.style import Style
    from rich.text import Text

    shown = clean(url)
    text = Text(shown, style=style)
    if is_linkable(shown):
        text.stylize(Style(link=shown))
    return text


_LINKABLE = re.compile(r"https?://[^\s\x00-\x1f\x7f-\x9f'\"<>\[\]\\`{}|^]+", re.IGNORECASE)


def is_linkable(url: str) -> bool:
    """Whether `url` may become a terminal hyperlink target as it is."""
    return bool(_LINKABLE.fullmatch(url)) and clean(url) == url


def markup_escape(text: object, *, multiline: bool = False) -> str:
    """`text` cleaned and escaped for the few places that must build Rich/Textual markup."""
    from rich.markup import escape

    return escape(clean(text, multiline=multiline))


# -- validators: what the loader, `validate`, `add`, `note` and `restore` refuse to store ------


def text_problem(text: str, *, multiline: bool = False) -> str | None:
    """Why `text` may not be stored (a control character or bidi override), or None.

    One rule for every place that takes text in: the curriculum loader, `studytui add`,
    `note` and `restore`. `clean` would make such text harmless on screen; refusing it at
    the door keeps the stored data what its author meant.
    """
    found = unsafe_chars(text, multiline=multiline)
    if not found:
        return None
    offset, name = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    if 0xD800 <= ord(text[offset]) <= 0xDFFF:
        return f"contains bytes that are not UTF-8 at offset {offset}{more}"
    return f"contains a control character {name} at offset {offset}{more}"


def url_problem(url: str) -> str | None:
    """Why `url` is not a plain http(s) URL with a host, or None when it is."""
    from urllib.parse import urlsplit

    bad = text_problem(url)
    if bad:
        return bad
    if not url or any(ch.isspace() for ch in url):
        return "must be an http(s) URL without spaces"
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number or out of range
    except ValueError as e:
        return f"is not a valid URL ({e})"
    if parts.scheme.lower() not in ("http", "https"):
        return "must be an http(s) URL"
    if not parts.hostname:
        return "must be an http(s) URL with a host"
    return None


def json_text(obj: object, *, indent: int | None = 2) -> str:
    """`obj` as JSON (readable UTF-8), with every character `clean` would replace written
    as a `\\uXXXX` escape instead: the data round-trips exactly, yet no raw C1 control,
    bidi override or lone surrogate reaches a terminal that shows the JSON."""
    import json

    text = json.dumps(obj, indent=indent, ensure_ascii=False, default=str)
    return _UNESCAPED_BY_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# What json.dumps(ensure_ascii=False) leaves raw (it escapes C0 itself); these can only
# occur inside JSON strings, where a \u escape means the same character.
_UNESCAPED_BY_JSON = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
