"""Read curriculum folders into a Curriculum, reporting every problem as `path:line:col: message`.

Bad files and bad entries are reported and skipped; everything else loads, so one typo
in a user's folder never hides the built-in curriculum. Nothing here raises on user
input: any unexpected exception while reading a file becomes a Problem for that file.

Two passes: each file is read into lightweight records (`_RawItem`) that keep the
positions of their references; then, with every file read, references are resolved
(glossary terms, labs, prerequisites across courses), cycles are cut, and the frozen
model objects are built.
"""

from __future__ import annotations

import difflib
import gc
import re
import stat
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from studytui.curriculum import cache, safeyaml
from studytui.curriculum.durations import parse_duration
from studytui.curriculum.model import KINDS, Course, Curriculum, Item, Link, Section, Term
from studytui.curriculum.safeyaml import Map, Scalar, Seq
from studytui.safetext import text_problem, url_problem

GLOSSARY_STEM = "glossary"
YAML_SUFFIXES = (".yaml", ".yml")
# Revisits of already-expanded nodes allowed per file: a real file revisits a handful of
# anchors; a billion-laughs file needs millions.
ALIAS_BUDGET = 200_000
MAX_FILE_BYTES = 64 * 1024 * 1024

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
# Fields whose text may span lines (keeps \n and \t); every other field is one line.
_MULTILINE = frozenset({"summary", "definition"})

COURSE_KEYS = frozenset({"id", "title", "summary", "order", "source", "tags", "sections"})
SECTION_KEYS = frozenset({"id", "title", "summary", "items"})
ITEM_KEYS = frozenset(
    {
        "id",
        "title",
        "kind",
        "url",
        "links",
        "duration",
        "summary",
        "tags",
        "terms",
        "lab",
        "prerequisites",
        "date",
        "by",
        "data",
        "items",
        "dead",
    }
)
GLOSSARY_KEYS = frozenset({"terms"})
TERM_KEYS = frozenset({"id", "term", "aliases", "definition", "links", "see_also"})
LINK_KEYS = frozenset({"title", "url", "dead"})
# `dead: YEAR` names the year a link went dead; anything outside these years is a typo.
DEAD_YEARS = range(1990, 2101)


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int  # 1-based
    col: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


@dataclass
class LoadResult:
    curriculum: Curriculum
    problems: list[Problem] = field(default_factory=list)


# -- public API ---------------------------------------------------------------------------------


def load_curriculum(
    dirs: Sequence[Path],
    *,
    known_labs: Collection[str] | None = None,
    extra_files: Sequence[Path] = (),
    cache_dir: Path | None = None,
) -> LoadResult:
    """Every *.yaml / *.yml directly in each folder (glossary.yaml is the glossary, any other
    file a course), then `extra_files`. `known_labs=None` skips checking lab names.

    With `cache_dir`, the result is kept there (as JSON, see cache.py) and reused while every file's size
    and mtime, the lab names and the loader's own code are unchanged: a 10,000-item
    curriculum then loads about ten times faster than parsing its YAML again."""
    files: list[tuple[Path, str]] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    for folder in dirs:
        found, missing = _folder_files(Path(folder))
        problems += missing
        files += [(f, str(f)) for f in found if _first_time(f, seen)]
    files += [(Path(f), str(f)) for f in extra_files if _first_time(Path(f), seen)]
    key = _cache_key(files, known_labs) if cache_dir is not None else None
    if key is not None:
        with _no_gc():
            cached = cache.read(Path(cache_dir), key)
        if cached is not None:
            curriculum, stored = cached
            return LoadResult(curriculum, problems + [Problem(*p) for p in stored])
    curriculum, more = _load(files, known_labs)
    if key is not None:
        cache.write(Path(cache_dir), key, curriculum, more)
    return LoadResult(curriculum, problems + more)


def validate_paths(
    paths: Sequence[Path], *, context_dirs: Sequence[Path] = (), known_labs: Collection[str] | None = None
) -> list[Problem]:
    """Problems located in `paths` (files or folders), read together with `context_dirs` so
    references into, say, the built-in glossary resolve. Context files load first: a clash
    between a checked file and a context file is reported in the checked one."""
    problems: list[Problem] = []
    targets: dict[Path, str] = {}
    for p in map(Path, paths):
        if p.is_dir():
            for f in _folder_files(p)[0]:
                targets.setdefault(_key(f), str(f))
        elif p.exists():
            targets.setdefault(_key(p), str(p))
        else:
            problems.append(Problem(str(p), 1, 1, "no such file or folder"))
    context: list[tuple[Path, str]] = []
    seen = set(targets)
    for folder in context_dirs:
        for f in _folder_files(Path(folder))[0]:
            if _first_time(f, seen):
                context.append((f, str(f)))
    _, found = _load(context + [(Path(shown), shown) for shown in targets.values()], known_labs)
    shown_targets = set(targets.values())
    return sorted(problems + [p for p in found if p.path in shown_targets])


# -- the cache ---------------------------------------------------------------------------------

_CODE_FILES = ("loader.py", "safeyaml.py", "model.py", "durations.py", "cache.py", "../safetext.py")


def _cache_key(files: list[tuple[Path, str]], known_labs: Collection[str] | None) -> list | None:
    try:
        here = Path(__file__).parent
        code = [[n, (st := (here / n).stat()).st_size, st.st_mtime_ns] for n in _CODE_FILES]
        stats = [[shown, (st := path.stat()).st_size, st.st_mtime_ns] for path, shown in files]
    except OSError:
        return None  # a file vanished meanwhile: read from scratch, which reports it
    labs = None if known_labs is None else sorted(known_labs)
    return [code, stats, labs]


# -- files --------------------------------------------------------------------------------------


def _key(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def _first_time(path: Path, seen: set[Path]) -> bool:
    key = _key(path)
    if key in seen:
        return False
    seen.add(key)
    return True


def _folder_files(folder: Path) -> tuple[list[Path], list[Problem]]:
    try:
        # Not only regular files: a dangling or unreadable symlink, or a FIFO, named like a
        # curriculum file is reported when read, never skipped in silence.
        names = sorted(
            p
            for p in folder.iterdir()
            if p.suffix in YAML_SUFFIXES and not p.name.startswith(".") and not p.is_dir()
        )
    except FileNotFoundError:
        return [], [Problem(str(folder), 1, 1, "no such folder")]
    except NotADirectoryError:
        return [folder], []
    except OSError as e:
        return [], [Problem(str(folder), 1, 1, f"cannot read folder: {e.strerror or e}")]
    return names, []


def _read_text(path: Path, shown: str) -> str:
    if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would block or never end
        raise _Abort(1, 1, "not a regular file")
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise _Abort(1, 1, f"file is larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        start = e.start
        line = data.count(b"\n", 0, start) + 1
        line_start = data.rfind(b"\n", 0, start) + 1
        col = len(data[line_start:start].decode("utf-8", "replace")) + 1
        raise _Abort(
            line, col, f"not UTF-8: byte 0x{data[start]:02x} cannot be decoded; save the file as UTF-8"
        ) from None


class _Abort(Exception):
    """Stop reading this file: the problem is at line, col."""

    def __init__(self, line: int, col: int, message: str):
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


@contextmanager
def _no_gc() -> Iterator[None]:
    # Reading keeps hundreds of thousands of small objects alive, which makes the cyclic GC
    # run over and over for nothing (it more than doubles the load time). Nothing built here
    # forms reference cycles that outlive the load.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _did_you_mean(word: str, candidates) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# -- reading one file ---------------------------------------------------------------------------


class _RawItem:
    """An item as read, before its references are resolved and it is frozen into an Item."""

    __slots__ = ("kw", "children", "terms", "prereqs", "lab", "line", "key")

    def __init__(self, kw: dict, line: int):
        self.kw = kw
        self.line = line
        self.children: list[_RawItem] = []
        self.terms: list[tuple[str, object]] = []  # (glossary id, node)
        self.prereqs: list[tuple[str, object]] = []  # (reference as written, node)
        self.lab: tuple[str, object] | None = None
        self.key = ""


class _RawSection:
    __slots__ = ("id", "title", "summary", "items")

    def __init__(self, id: str, title: str, summary: str):
        self.id, self.title, self.summary = id, title, summary
        self.items: list[_RawItem] = []


class _RawCourse:
    __slots__ = ("kw", "sections", "line", "path")

    def __init__(self, kw: dict, line: int, path: str):
        self.kw, self.line, self.path = kw, line, path
        self.sections: list[_RawSection] = []


class _RawTerm:
    __slots__ = ("kw", "see_also", "line", "path")

    def __init__(self, kw: dict, line: int, path: str):
        self.kw, self.line, self.path = kw, line, path
        self.see_also: list[tuple[str, object]] = []


def _count_key(items: list, name: str, stop: int) -> int:
    """How many times `name` is a key before position `stop` (to report a repeated unknown key once)."""
    return sum(1 for k in items[0:stop:2] if k.__class__ is Scalar and k.value == name)


class _FileReader:
    """Reads one file's node tree into raw records, collecting this file's problems."""

    def __init__(self, shown: str):
        self.path = shown
        self.problems: list[Problem] = []
        self.budget = ALIAS_BUDGET

    # positions and problems
    def problem(self, node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.path, mark.line + 1, mark.column + 1, message))

    def _visit(self, node) -> None:
        # Aliases share nodes: the first visit is free, each revisit is charged its size.
        if node.seen:
            self.budget -= len(node.items) + 1
            if self.budget < 0:
                mark = node.start_mark
                raise _Abort(mark.line + 1, mark.column + 1, "too many aliases (alias bomb?)")
        else:
            node.seen = True

    def fields(self, node, allowed: frozenset[str], what: str) -> dict | None:
        """The keys of a mapping as {name: value node}; unknown and duplicate keys are reported."""
        if node.__class__ is not Map:
            self.problem(node, f"{what} must be a mapping, got {safeyaml.type_name(node)}")
            return None
        self._visit(node)
        out: dict = {}
        items = node.items
        for i in range(0, len(items), 2):
            key = items[i]
            if key.__class__ is not Scalar:
                self.problem(key, f"keys must be plain names, got {safeyaml.type_name(key)}")
                continue
            name = key.value
            if name in allowed and name not in out:
                out[name] = items[i + 1]
            elif name in allowed or _count_key(items, name, i) > 0:
                first = next(k for k in items[0:i:2] if k.__class__ is Scalar and k.value == name)
                self.problem(key, f"duplicate key {name!r} (first at line {first.start_mark.line + 1})")
            elif name == "<<":
                self.problem(key, "merge keys ('<<') are not supported; write the keys out")
            else:
                self.problem(key, f"unknown key {name!r} in {what}{_did_you_mean(name, sorted(allowed))}")
        return out

    def text(self, node, name: str) -> str | None:
        """A scalar as text (plain `2017` or `yes` stay as written); None when null, of the
        wrong type, or holding a control character (reported: text from a shared folder
        must not carry terminal escapes or bidi overrides into anyone's screen)."""
        if node.__class__ is Scalar:
            if _is_null(node):
                return None
            bad = text_problem(node.value, multiline=name in _MULTILINE)
            if bad:
                self.problem(node, f"{name} {bad}")
                return None
            return node.value
        self.problem(node, f"{name} must be a string, got {safeyaml.type_name(node)}")
        return None

    def required_text(self, f: dict, name: str, owner_node, what: str) -> str | None:
        node = f.get(name)
        if node is None:
            self.problem(owner_node, f"{what} needs a {name!r}")
            return None
        value = self.text(node, name)
        if value is None:
            if node.__class__ is Scalar and _is_null(node):
                self.problem(node, f"{name} must not be empty")
            return None
        if not value.strip():
            self.problem(node, f"{name} must not be empty")
            return None
        return value

    def slug(self, f: dict, owner_node, what: str) -> str | None:
        value = self.required_text(f, "id", owner_node, what)
        if value is not None and not _SLUG.match(value):
            self.problem(
                f["id"],
                f"id {value!r} is not a slug: use lowercase letters, digits, '-' and '_'"
                " (starting with a letter or digit)",
            )
            return None
        return value

    def seq(self, node, name: str) -> list | None:
        if node.__class__ is Seq:
            self._visit(node)
            return node.items
        if node.__class__ is Scalar and _is_null(node):
            return []
        self.problem(node, f"{name} must be a list, got {safeyaml.type_name(node)}")
        return None

    def texts(self, node, name: str) -> list[tuple[str, object]]:
        """A list of strings, each with its node (for positions); bad entries reported and dropped."""
        items = self.seq(node, name)
        if items is None:
            return []
        out = []
        for child in items:
            if child.__class__ is Scalar and not _is_null(child):
                bad = text_problem(child.value)
                if bad:
                    self.problem(child, f"{name}: an entry {bad}")
                else:
                    out.append((child.value, child))
            else:
                self.problem(
                    child, f"{name} must be a list of strings, got {safeyaml.type_name(child)} in it"
                )
        return out

    def url(self, node, name: str) -> str | None:
        value = self.text(node, name)
        if value is None:
            return None
        value = value.strip()
        bad = url_problem(value)
        if bad:
            self.problem(node, f"{name} {bad}, got {value!r}")
            return None
        return value

    def links(self, node) -> tuple[Link, ...]:
        out = []
        for child in self.seq(node, "links") or ():
            if child.__class__ is Scalar:  # a bare URL is a link titled by itself
                url = self.url(child, "link")
                if url:
                    out.append(Link(url, url))
                continue
            f = self.fields(child, LINK_KEYS, "link")
            if f is None:
                continue
            if "url" not in f:
                self.problem(child, "link needs a 'url'")
                continue
            url = self.url(f["url"], "url")
            title = self.text(f["title"], "title") if "title" in f else None
            dead = self.dead(f["dead"]) if "dead" in f else None
            if url:
                out.append(Link(title or url, url, dead))
        return tuple(out)

    def dead(self, node):
        """`dead: 2025` (the year it went dead), `dead: true` (year unknown) or `dead: false`."""
        if node.__class__ is Scalar and not _is_null(node):
            tag = safeyaml.scalar_tag(node)
            if tag in (safeyaml.BOOL, safeyaml.INT):
                try:
                    value = safeyaml.scalar_value(node)
                except safeyaml.YamlError as e:
                    self.problem(node, f"dead: {e.message}")
                    return None
                if isinstance(value, bool):
                    return True if value else None
                if value in DEAD_YEARS:
                    return value
                self.problem(
                    node, f"dead: {value} is not a year between {DEAD_YEARS.start} and {DEAD_YEARS.stop - 1}"
                )
                return None
        self.problem(
            node,
            f"dead must be a year such as 2025, or true, got {safeyaml.type_name(node)}"
            + (f" {node.value!r}" if node.__class__ is Scalar else ""),
        )
        return None

    def data(self, node, depth: int = 0):
        """Free-form `data:` as plain Python values (dates as text)."""
        if depth > safeyaml.MAX_DEPTH:
            mark = node.start_mark
            raise _Abort(mark.line + 1, mark.column + 1, "data nested too deep (recursive alias?)")
        cls = node.__class__
        if cls is Scalar:
            try:
                value = safeyaml.scalar_value(node)
            except safeyaml.YamlError as e:
                self.problem(node, e.message)
                return None
            if isinstance(value, str) and (bad := text_problem(value, multiline=True)):
                self.problem(node, f"data {bad}")
                return None
            return value
        self._visit(node)
        if cls is Seq:
            return [self.data(child, depth + 1) for child in node.items]
        out = {}
        items = node.items
        for i in range(0, len(items), 2):
            key = items[i]
            if key.__class__ is not Scalar:
                self.problem(key, "data keys must be plain values, not lists or mappings")
                continue
            out[str(safeyaml.scalar_value(key))] = self.data(items[i + 1], depth + 1)
        return out

    # -- a course file --
    def course(self, root) -> _RawCourse | None:
        f = self.fields(root, COURSE_KEYS, "course")
        if f is None:
            return None
        course_id = self.slug(f, root, "a course")
        title = self.required_text(f, "title", root, "a course")
        kw: dict = {"id": course_id, "title": title}
        if "summary" in f:
            kw["summary"] = (self.text(f["summary"], "summary") or "").strip()
        if "order" in f:
            node = f["order"]
            if node.__class__ is Scalar and safeyaml.scalar_tag(node) == safeyaml.INT:
                try:
                    kw["order"] = safeyaml.scalar_value(node)
                except safeyaml.YamlError as e:
                    self.problem(node, f"order: {e.message}")
            elif not safeyaml.is_null(node):
                self.problem(node, f"order must be an integer, got {safeyaml.type_name(node)}")
        if "source" in f:
            kw["source"] = self.text(f["source"], "source") or ""
        if "tags" in f:
            kw["tags"] = tuple(v for v, _ in self.texts(f["tags"], "tags"))
        if course_id is None or title is None:
            return None
        course = _RawCourse(kw, root.start_mark.line + 1, self.path)
        if "sections" not in f:
            self.problem(root, "a course needs 'sections' (a list of sections with items)")
            return course
        item_ids: dict[str, int] = {}
        section_ids: dict[str, int] = {}
        for node in self.seq(f["sections"], "sections") or ():
            section = self.section(node, course_id, item_ids, section_ids)
            if section is not None:
                course.sections.append(section)
        return course

    def section(self, node, course_id: str, item_ids: dict, section_ids: dict) -> _RawSection | None:
        f = self.fields(node, SECTION_KEYS, "section")
        if f is None:
            return None
        section_id = self.slug(f, node, "a section")
        title = self.required_text(f, "title", node, "a section")
        summary = (self.text(f["summary"], "summary") or "").strip() if "summary" in f else ""
        if section_id is None or title is None:
            return None
        if section_id in section_ids:
            self.problem(
                f["id"],
                f"duplicate section id {section_id!r} in course {course_id!r}"
                f" (first defined at {self.path}:{section_ids[section_id]})",
            )
            return None
        section_ids[section_id] = node.start_mark.line + 1
        section = _RawSection(section_id, title, summary)
        if "items" in f:
            section.items = self.items(f["items"], course_id, item_ids, 0)
        return section

    def items(self, node, course_id: str, item_ids: dict, depth: int) -> list[_RawItem]:
        if depth > 64:
            mark = node.start_mark
            raise _Abort(mark.line + 1, mark.column + 1, "items nested too deep (recursive alias?)")
        out = []
        for child in self.seq(node, "items") or ():
            item = self.item(child, course_id, item_ids, depth)
            if item is not None:
                out.append(item)
        return out

    def item(self, node, course_id: str, item_ids: dict, depth: int) -> _RawItem | None:
        f = self.fields(node, ITEM_KEYS, "item")
        if f is None:
            return None
        item_id = self.slug(f, node, "an item")
        title = self.required_text(f, "title", node, "an item")
        if item_id is None or title is None:
            return None
        line = node.start_mark.line + 1
        if item_id in item_ids:
            self.problem(
                f["id"],
                f"duplicate item id {item_id!r} in course {course_id!r}"
                f" (first defined at {self.path}:{item_ids[item_id]})",
            )
            return None
        item_ids[item_id] = line
        kw: dict = {"course_id": course_id, "id": item_id, "title": title, "source": f"{self.path}:{line}"}
        raw = _RawItem(kw, line)
        for name, value in f.items():
            if name in _SIMPLE_TEXT:
                text = self.text(value, name)
                if text is not None:
                    kw[name] = text.strip() if name == "summary" else text
            elif name == "kind":
                kind = self.text(value, "kind")
                if kind is None:
                    continue
                if kind in _KINDS:
                    kw["kind"] = kind
                else:
                    self.problem(value, f"unknown kind {kind!r}{_did_you_mean(kind, KINDS)}")
            elif name == "duration":
                if value.__class__ is not Scalar:
                    self.problem(
                        value, f"duration must be a string such as 42m, got {safeyaml.type_name(value)}"
                    )
                elif not _is_null(value):
                    try:
                        kw["duration_s"] = _duration(value.value)
                    except ValueError as e:
                        self.problem(value, str(e))
            elif name == "url":
                url = self.url(value, "url")
                if url:
                    kw["url"] = url
            elif name == "tags":
                kw["tags"] = tuple(v for v, _ in self.texts(value, "tags"))
            elif name == "terms":
                raw.terms = self.texts(value, "terms")
            elif name == "prerequisites":
                raw.prereqs = self.texts(value, "prerequisites")
            elif name == "lab":
                lab = self.text(value, "lab")
                if lab is not None:
                    raw.lab = (lab, value)
            elif name == "links":
                kw["links"] = self.links(value)
            elif name == "dead":
                dead = self.dead(value)
                if dead is not None:
                    kw["dead"] = dead
            elif name == "data":
                kw["data"] = self.data(value)
            elif name == "items":
                raw.children = self.items(value, course_id, item_ids, depth + 1)
        if "dead" in f and "url" not in f:
            self.problem(
                f["dead"], "dead: the item has no url to be dead (mark the link under 'links' instead)"
            )
        return raw

    # -- a glossary file --
    def glossary(self, root) -> list[_RawTerm]:
        f = self.fields(root, GLOSSARY_KEYS, "glossary")
        if f is None:
            return []
        if "terms" not in f:
            self.problem(root, "a glossary needs 'terms' (a list of terms)")
            return []
        out = []
        for node in self.seq(f["terms"], "terms") or ():
            term = self.term(node)
            if term is not None:
                out.append(term)
        return out

    def term(self, node) -> _RawTerm | None:
        f = self.fields(node, TERM_KEYS, "term")
        if f is None:
            return None
        term_id = self.slug(f, node, "a term")
        term = self.required_text(f, "term", node, "a term")
        definition = self.required_text(f, "definition", node, "a term")
        if term_id is None or term is None or definition is None:
            return None
        line = node.start_mark.line + 1
        kw: dict = {
            "id": term_id,
            "term": term,
            "definition": definition.strip(),
            "source": f"{self.path}:{line}",
        }
        if "aliases" in f:
            kw["aliases"] = tuple(v for v, _ in self.texts(f["aliases"], "aliases"))
        if "links" in f:
            kw["links"] = self.links(f["links"])
        raw = _RawTerm(kw, line, self.path)
        if "see_also" in f:
            raw.see_also = self.texts(f["see_also"], "see_also")
        return raw


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
# Real curricula repeat a few spellings ('1h', '42m') thousands of times.
_duration = lru_cache(maxsize=4096)(parse_duration)


def _is_null(scalar) -> bool:
    # Plain `~`, `null` or nothing; or an explicit !!null. (Faster than resolving the tag.)
    tag = scalar.tag
    if tag is None:
        return scalar.value in _NULLS and scalar.implicit[0]
    return tag == safeyaml.NULL


_SIMPLE_TEXT = frozenset({"summary", "date", "by"})
_KINDS = frozenset(KINDS)


def _read_file(path: Path, shown: str) -> tuple[object, list[Problem]]:
    """(`_RawCourse` | list of `_RawTerm` | None, problems) for one file; never raises."""
    reader = _FileReader(shown)
    is_glossary = path.stem == GLOSSARY_STEM
    try:
        text = _read_text(path, shown)
        root = safeyaml.compose(text)
        if root is None:
            what = (
                "a glossary needs 'terms'" if is_glossary else "a course needs 'id', 'title' and 'sections'"
            )
            return None, [Problem(shown, 1, 1, f"file is empty: {what}")]
        result = reader.glossary(root) if is_glossary else reader.course(root)
        return result, _on_lines_of(text, reader.problems)
    except (_Abort, safeyaml.YamlError) as e:
        return None, reader.problems + [Problem(shown, e.line, e.col, e.message)]
    except OSError as e:
        return None, [Problem(shown, 1, 1, f"cannot read file: {e.strerror or e}")]
    except RecursionError:
        return None, reader.problems + [Problem(shown, 1, 1, "nested too deep")]
    except Exception as e:  # a bug of ours must not hide the rest of the curriculum  # noqa: BLE001
        return None, reader.problems + [
            Problem(shown, 1, 1, f"internal error reading this file: {type(e).__name__}: {e}")
        ]


_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # YAML's line breaks


def _on_lines_of(text: str, problems: list[Problem]) -> list[Problem]:
    """libyaml places a node that ends the stream (an empty document's null) on a line past
    the file's last; such a problem points at the last line the file has."""
    last = len(_LINE_BREAK.findall(text)) + 1
    return [p if p.line <= last else Problem(p.path, last, 1, p.message) for p in problems]


# -- putting files together ---------------------------------------------------------------------


def _load(
    files: list[tuple[Path, str]], known_labs: Collection[str] | None
) -> tuple[Curriculum, list[Problem]]:
    with _no_gc():
        problems: list[Problem] = []
        courses: list[_RawCourse] = []
        terms: list[_RawTerm] = []
        for path, shown in files:
            result, found = _read_file(path, shown)
            problems += found
            if isinstance(result, _RawCourse):
                courses.append(result)
            elif result:
                terms += result
        try:
            curriculum = _assemble(courses, terms, known_labs, problems)
        except Exception as e:  # never a traceback; report and return what we can  # noqa: BLE001
            problems.append(
                Problem(
                    files[0][1] if files else "<curriculum>",
                    1,
                    1,
                    f"internal error assembling the curriculum: {type(e).__name__}: {e}",
                )
            )
            curriculum = Curriculum.build([], [])
        return curriculum, problems


def _problem_at(path: str, node, message: str) -> Problem:
    mark = node.start_mark
    return Problem(path, mark.line + 1, mark.column + 1, message)


def _first_definitions(raws: list, what: str, problems: list[Problem]) -> dict:
    """By id, the first definition of each; a later one with the same id is a problem."""
    by_id: dict = {}
    for raw in raws:
        first = by_id.setdefault(raw.kw["id"], raw)
        if first is not raw:
            problems.append(
                Problem(
                    raw.path,
                    raw.line,
                    1,
                    f"duplicate {what} id {raw.kw['id']!r} (first defined at {first.path}:{first.line})",
                )
            )
    return by_id


def _assemble(
    raw_courses: list[_RawCourse],
    raw_terms: list[_RawTerm],
    known_labs: Collection[str] | None,
    problems: list[Problem],
) -> Curriculum:
    term_by_id = _first_definitions(raw_terms, "term", problems)
    course_by_id = _first_definitions(raw_courses, "course", problems)

    # Every item by key, for prerequisites (ids within a course are unique already).
    raw_by_key: dict[str, _RawItem] = {}
    ids_by_course: dict[str, list[str]] = {}
    for c in course_by_id.values():
        ids = ids_by_course[c.kw["id"]] = []
        for raw in _walk_raw(c):
            raw.key = f"{raw.kw['course_id']}/{raw.kw['id']}"
            raw_by_key[raw.key] = raw
            ids.append(raw.kw["id"])

    resolved_prereqs: dict[str, list[tuple[str, object]]] = {}
    for c in course_by_id.values():
        path = c.path
        course_id = c.kw["id"]
        for raw in _walk_raw(c):
            if raw.terms:
                good = []
                for term_id, node in raw.terms:
                    if term_id in term_by_id:
                        good.append(term_id)
                    else:
                        problems.append(
                            _problem_at(
                                path,
                                node,
                                f"unknown glossary term {term_id!r}{_did_you_mean(term_id, term_by_id)}",
                            )
                        )
                raw.kw["terms"] = tuple(good)
            if raw.lab is not None:
                lab, node = raw.lab
                if known_labs is None or lab in known_labs:
                    raw.kw["lab"] = lab
                else:
                    problems.append(
                        _problem_at(path, node, f"unknown lab {lab!r}{_did_you_mean(lab, known_labs)}")
                    )
            if raw.prereqs:
                good_refs = []
                for ref, node in raw.prereqs:
                    key, error = _resolve_ref(ref, course_id, raw_by_key, ids_by_course)
                    if error:
                        problems.append(_problem_at(path, node, error))
                    elif key == raw.key:
                        problems.append(
                            _problem_at(path, node, f"item {raw.key!r} lists itself as a prerequisite")
                        )
                    elif key not in (k for k, _ in good_refs):
                        good_refs.append((key, node))
                resolved_prereqs[raw.key] = good_refs

    for key, node, cycle in _cycle_edges(resolved_prereqs):
        course_path = course_by_id[raw_by_key[key].kw["course_id"]].path
        problems.append(_problem_at(course_path, node, "prerequisite cycle: " + " -> ".join(cycle)))
        resolved_prereqs[key] = [(k, n) for k, n in resolved_prereqs[key] if n is not node]
    for key, refs in resolved_prereqs.items():
        raw_by_key[key].kw["prerequisites"] = tuple(k for k, _ in refs)

    terms = []
    for t in term_by_id.values():
        good = []
        for ref, node in t.see_also:
            if ref in term_by_id:
                good.append(ref)
            else:
                problems.append(
                    _problem_at(
                        t.path,
                        node,
                        f"see_also: unknown glossary term {ref!r}{_did_you_mean(ref, term_by_id)}",
                    )
                )
        if good:
            t.kw["see_also"] = tuple(good)
        terms.append(Term(**t.kw))

    courses = []
    for c in course_by_id.values():
        sections = tuple(
            Section(s.id, s.title, s.summary, tuple(_freeze(r, None, s.id, None) for r in s.items))
            for s in c.sections
        )
        courses.append(Course(**c.kw, sections=sections, path=c.path))
    return Curriculum.build(courses, terms)


def _walk_raw(course: _RawCourse) -> Iterator[_RawItem]:
    stack: list[_RawItem] = []
    for section in reversed(course.sections):
        stack.extend(reversed(section.items))
    while stack:
        raw = stack.pop()
        yield raw
        stack.extend(reversed(raw.children))


def _freeze(raw: _RawItem, parent_key: str | None, section_id: str, parent_lab: str | None) -> Item:
    """The frozen item; an item without a lab of its own takes its nearest ancestor's."""
    kw = raw.kw
    if "lab" not in kw and parent_lab is not None:
        kw = {**kw, "lab": parent_lab, "lab_inherited": True}
    lab = kw.get("lab")
    children = tuple(_freeze(c, raw.key, section_id, lab) for c in raw.children) if raw.children else ()
    return Item(**kw, children=children, parent_key=parent_key, section_id=section_id)


def _resolve_ref(ref: str, course_id: str, raw_by_key: dict, ids_by_course: dict) -> tuple[str, str | None]:
    """(item key, None) or ("", error message) for a prerequisite written as `course/item` or `item`."""
    ref = ref.strip()
    if "/" in ref:
        ref_course, _, ref_item = ref.partition("/")
    else:
        ref_course, ref_item = course_id, ref
    key = f"{ref_course}/{ref_item}"
    if key in raw_by_key:
        return key, None
    if ref_course not in ids_by_course:
        return "", (
            f"prerequisite {ref!r}: no course {ref_course!r}{_did_you_mean(ref_course, ids_by_course)}"
        )
    hint = _did_you_mean(ref_item, ids_by_course[ref_course])
    if ref_course == course_id and "/" not in ref:
        return "", f"prerequisite {ref!r} is not an item of course {course_id!r}{hint}"
    return "", f"prerequisite {ref!r}: no item {ref_item!r} in course {ref_course!r}{hint}"


def _cycle_edges(graph: dict[str, list[tuple[str, object]]]) -> list[tuple[str, object, list[str]]]:
    """Each prerequisite cycle once, as (key, reference node that closes it, the cycle's keys);
    dropping those references leaves the curriculum acyclic, so no reader can loop on it."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(graph, WHITE)
    found: list[tuple[str, object, list[str]]] = []
    for start in graph:
        if color[start] != WHITE:
            continue
        # Iterative DFS (a long prerequisite chain must not hit the recursion limit):
        # stack holds (key, index of the next edge); path mirrors the grey keys.
        stack = [(start, 0)]
        path = [start]
        color[start] = GREY
        while stack:
            key, i = stack[-1]
            edges = graph[key]
            if i == len(edges):
                stack.pop()
                path.pop()
                color[key] = BLACK
                continue
            stack[-1] = (key, i + 1)
            target, node = edges[i]
            state = color.get(target, BLACK)  # items without prerequisites are not in graph
            if state == GREY:
                found.append((key, node, path[path.index(target) :] + [target]))
            elif state == WHITE:
                color[target] = GREY
                stack.append((target, 0))
                path.append(target)
    return found
