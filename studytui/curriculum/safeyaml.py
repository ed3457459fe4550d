"""Plain YAML only: libyaml's event stream composed into a light node tree that keeps positions.

Why not `yaml.compose(text, Loader=CSafeLoader)`: its composer runs PyYAML's Python tag
resolver on every scalar (about 1.4 s for a 10,000-item course on a small machine), and
its C recursion crashes the interpreter on a few hundred thousand nested `[`. Here the
libyaml parser does the scanning, a flat loop builds the tree with an explicit stack
(depth capped), and a plain scalar's type is resolved only when a field asks for it.

Nodes: a scalar is libyaml's own ScalarEvent (`.value`, `.tag`, `.implicit`,
`.start_mark`); collections are `Map` (flat `items`: key, value, key, value ...) and
`Seq`. Aliases are shared nodes, so expanding them is the reader's job: `Map.seen` /
`Seq.seen` let it charge a budget for every revisit (see loader.py), which is what stops
a billion-laughs file.
"""

from __future__ import annotations

import yaml
from yaml import events as _ev
from yaml._yaml import CParser  # libyaml; PyYAML without it is refused by import error, on purpose
from yaml.resolver import Resolver

Scalar = _ev.ScalarEvent

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
MAP = "tag:yaml.org,2002:map"
SEQ = "tag:yaml.org,2002:seq"
ALLOWED_TAGS = frozenset({STR, INT, FLOAT, BOOL, NULL, TIMESTAMP, MAP, SEQ, "!"})

MAX_DEPTH = 200
# An int beyond 64 bits means nothing to studytui (and SQLite could not store it).
MAX_INT_CHARS = 40

_IMPLICIT = Resolver.yaml_implicit_resolvers
_TYPE_NAMES = {
    STR: "string",
    INT: "integer",
    FLOAT: "number",
    BOOL: "boolean",
    NULL: "null",
    TIMESTAMP: "date",
    "tag:yaml.org,2002:merge": "merge key",
}


class YamlError(Exception):
    """A file that is not plain, well-formed, single-document YAML; 1-based position."""

    def __init__(self, line: int, col: int, message: str):
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


class _Collection:
    __slots__ = ("items", "tag", "start_mark", "seen")

    def __init__(self, tag, start_mark):
        self.items: list = []
        self.tag = tag
        self.start_mark = start_mark
        self.seen = False


class Map(_Collection):
    __slots__ = ()


class Seq(_Collection):
    __slots__ = ()


def compose(text: str):
    """The document's root node (None for an empty file); YamlError for anything not plain YAML."""
    try:
        return _compose(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        message = e.problem or e.context or "invalid YAML"
        if e.context and e.problem:
            message = f"{e.problem} ({e.context})"
        if mark is None:
            raise YamlError(1, 1, f"YAML error: {message}") from None
        last_line = max(1, len(text.splitlines()))
        if mark.line + 1 > last_line:  # "at the end of the file": the last line there is
            raise YamlError(
                last_line,
                len(text.splitlines()[-1]) + 1 if text.strip() else 1,
                f"YAML error at the end of the file: {message}",
            ) from None
        raise YamlError(mark.line + 1, mark.column + 1, f"YAML error: {message}") from None
    except yaml.reader.ReaderError as e:
        line, col = line_col(text, e.position)
        raise YamlError(line, col, f"YAML error: {e.reason}") from None


def line_col(text: str, offset: int) -> tuple[int, int]:
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _compose(text: str):
    parser = CParser(text)
    get = parser.get_event
    get()  # StreamStart
    ev = get()
    if ev.__class__ is _ev.StreamEndEvent:
        return None
    anchors: dict = {}
    stack: list = []
    root = None
    allowed = ALLOWED_TAGS
    while True:
        ev = get()
        cls = ev.__class__
        if cls is Scalar:
            node = ev
            if ev.tag is not None and ev.tag not in allowed:
                raise _custom_tag(ev)
        elif cls is _ev.MappingStartEvent or cls is _ev.SequenceStartEvent:
            if ev.tag is not None and ev.tag not in allowed:
                raise _custom_tag(ev)
            node = Map(ev.tag, ev.start_mark) if cls is _ev.MappingStartEvent else Seq(ev.tag, ev.start_mark)
            if ev.anchor is not None:
                anchors[ev.anchor] = node
            if stack:
                stack[-1].items.append(node)
            else:
                root = node
            stack.append(node)
            if len(stack) > MAX_DEPTH:
                raise YamlError(
                    ev.start_mark.line + 1,
                    ev.start_mark.column + 1,
                    f"nested more than {MAX_DEPTH} levels deep",
                )
            continue
        elif cls is _ev.MappingEndEvent or cls is _ev.SequenceEndEvent:
            stack.pop()
            continue
        elif cls is _ev.AliasEvent:
            node = anchors.get(ev.anchor)
            if node is None:  # libyaml reports this itself; kept for safety
                raise YamlError(
                    ev.start_mark.line + 1, ev.start_mark.column + 1, f"undefined alias {ev.anchor!r}"
                )
        else:  # DocumentEnd
            break
        if cls is Scalar and ev.anchor is not None:
            anchors[ev.anchor] = node
        if stack:
            stack[-1].items.append(node)
        else:
            root = node
    ev = get()
    if ev.__class__ is _ev.DocumentStartEvent:
        raise YamlError(
            ev.start_mark.line + 1,
            ev.start_mark.column + 1,
            "only one YAML document per file (found a second '---')",
        )
    return root


def _custom_tag(ev) -> YamlError:
    tag = ev.tag
    shown = "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else tag
    return YamlError(
        ev.start_mark.line + 1,
        ev.start_mark.column + 1,
        f"custom tag {shown!r} not allowed (plain YAML only)",
    )


def scalar_tag(node) -> str:
    """The resolved tag of a scalar, as PyYAML's SafeLoader would resolve it."""
    tag = node.tag
    if tag is not None and tag != "!":
        return tag
    if tag == "!" or not node.implicit[0]:  # quoted, or the non-specific '!': a string
        return STR
    value = node.value
    for candidate, regexp in _IMPLICIT.get(value[:1], ()):
        if regexp.match(value):
            return candidate
    return STR


def is_null(node) -> bool:
    return node.__class__ is Scalar and scalar_tag(node) == NULL


def type_name(node) -> str:
    if node.__class__ is Map:
        return "mapping"
    if node.__class__ is Seq:
        return "list"
    return _TYPE_NAMES.get(scalar_tag(node), "scalar")


_constructor = yaml.constructor.SafeConstructor()


def scalar_value(node):
    """A scalar as a JSON-friendly Python value (dates stay text: they are shown, not computed on)."""
    tag = scalar_tag(node)
    if tag == STR or tag == TIMESTAMP:
        return node.value
    if tag == NULL:
        return None
    sn = yaml.nodes.ScalarNode(tag, node.value)
    if tag == INT:
        if len(node.value) > MAX_INT_CHARS:
            # Python refuses to convert very long digit strings (and converting them is slow):
            # a clean error at the number, not a ValueError from deep inside.
            mark = node.start_mark
            raise YamlError(
                mark.line + 1,
                mark.column + 1,
                f"integer with {len(node.value)} characters is too large "
                f"(at most {MAX_INT_CHARS}); quote it if it is text",
            )
        return _constructor.construct_yaml_int(sn)
    if tag == FLOAT:
        return _constructor.construct_yaml_float(sn)
    if tag == BOOL:
        return _constructor.construct_yaml_bool(sn)
    return node.value  # the merge key '<<' and the like: plain text
