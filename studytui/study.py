"""Progress over the curriculum: effective status, per-course figures, what to study next.

Pure functions over a Curriculum and the store's progress map, shared by the CLI and
the TUI. The unit of counting is a leaf item (a video, not its playlist); a status set
on a parent ("I read the whole book") carries down to children that have none of their own.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from studytui.curriculum.model import Course, Curriculum, Item

FINISHED = ("done", "skipped")


class ResolveError(LookupError):
    """An ITEM reference the user typed matches nothing, or more than one item."""

    def __init__(self, message: str, candidates: list[str]):
        super().__init__(message)
        self.candidates = candidates


def effective_statuses(curriculum: Curriculum, progress: Mapping[str, object]) -> dict[str, str]:
    """Status of every item, a parent's done/skipped carrying down to unmarked children."""
    own = {k: getattr(p, "status", p) for k, p in progress.items()}
    result: dict[str, str] = {}

    def visit(item: Item, inherited: str | None) -> None:
        status = own.get(item.key)
        if status in (None, "todo") and inherited in FINISHED:
            status = inherited
        result[item.key] = status or "todo"
        carry = result[item.key] if result[item.key] in FINISHED else inherited
        for child in item.children:
            visit(child, carry)

    for course in curriculum.courses:
        for section in course.sections:
            for item in section.items:
                visit(item, None)
    return result


def leaves(items: Iterable[Item]) -> Iterable[Item]:
    for item in items:
        for node in item.walk():
            if not node.children:
                yield node


@dataclass(frozen=True)
class Tally:
    """Counts and hours for any group of items: a course, a section, a playlist."""
    done: int = 0
    skipped: int = 0
    doing: int = 0
    total: int = 0
    seconds_total: int = 0
    seconds_done: int = 0
    seconds_left: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.skipped

    @property
    def percent(self) -> float:
        countable = self.total - self.skipped
        return 100.0 * self.done / countable if countable else (100.0 if self.total else 0.0)


def tally(items: Iterable[Item], statuses: Mapping[str, str]) -> Tally:
    done = skipped = doing = total = 0
    s_total = s_done = s_left = 0
    for top in items:
        for leaf in leaves([top]):
            status = statuses.get(leaf.key, "todo")
            total += 1
            done += status == "done"
            skipped += status == "skipped"
            doing += status == "doing"
        t, d, left = _time_split(top, statuses)
        s_total, s_done, s_left = s_total + t, s_done + d, s_left + left
    return Tally(done, skipped, doing, total, s_total, s_done, s_left)


def _time_split(item: Item, statuses: Mapping[str, str]) -> tuple[int, int, int]:
    """(total, done, left) seconds; children's durations win over the parent's own."""
    if any(c.effective_duration_s for c in item.children):
        parts = [_time_split(c, statuses) for c in item.children]
        return tuple(sum(p[i] for p in parts) for i in range(3))  # type: ignore[return-value]
    seconds = item.duration_s or 0
    status = statuses.get(item.key, "todo")
    if item.children and status not in FINISHED:
        kids = [statuses.get(leaf.key, "todo") for leaf in leaves(item.children)]
        if kids and all(k in FINISHED for k in kids):
            status = "done" if "done" in kids else "skipped"
    if status == "done":
        return seconds, seconds, 0
    if status == "skipped":
        return seconds, 0, 0
    return seconds, 0, seconds


@dataclass(frozen=True)
class CourseSummary:
    course: Course
    tally: Tally
    seconds_logged: int


def course_summaries(curriculum: Curriculum, progress: Mapping[str, object],
                     time_by_key: Mapping[str, int]) -> list[CourseSummary]:
    statuses = effective_statuses(curriculum, progress)
    out = []
    for course in curriculum.courses:
        items = [i for s in course.sections for i in s.items]
        logged = sum(v for k, v in time_by_key.items() if k.startswith(course.id + "/"))
        out.append(CourseSummary(course, tally(items, statuses), logged))
    return out


def orphan_keys(curriculum: Curriculum, *key_sets: Iterable[str]) -> list[str]:
    """Keys that hold progress, notes or time but no longer name an item in the YAML."""
    known = curriculum.items_by_key
    return sorted({k for keys in key_sets for k in keys if k not in known})


def next_items(curriculum: Curriculum, progress: Mapping[str, object], limit: int = 5) -> list[Item]:
    """What to study next: items in progress first, then the first unfinished leaves in
    curriculum order whose prerequisites are all finished."""
    statuses = effective_statuses(curriculum, progress)
    doing = [i for i in leaves(_top_items(curriculum)) if statuses[i.key] == "doing"]
    ready = []
    for item in leaves(_top_items(curriculum)):
        if len(doing) + len(ready) >= limit:
            break
        if statuses[item.key] != "todo":
            continue
        if all(_finished(curriculum, statuses, p) for p in _all_prerequisites(curriculum, item)):
            ready.append(item)
    return (doing + ready)[:limit]


def _top_items(curriculum: Curriculum) -> list[Item]:
    return [i for c in curriculum.courses for s in c.sections for i in s.items]


def _all_prerequisites(curriculum: Curriculum, item: Item) -> list[str]:
    """An item's own prerequisites and those of its ancestors."""
    keys = list(item.prerequisites)
    parent = item.parent_key
    while parent:
        node = curriculum.items_by_key[parent]
        keys += node.prerequisites
        parent = node.parent_key
    return keys


def _finished(curriculum: Curriculum, statuses: Mapping[str, str], key: str) -> bool:
    node = curriculum.items_by_key.get(key)
    if node is None:
        return True
    if statuses.get(key) in FINISHED:
        return True
    kids = list(leaves(node.children))
    return bool(kids) and all(statuses.get(k.key) in FINISHED for k in kids)


def resolve_item(curriculum: Curriculum, ref: str) -> Item:
    """`course/item`, a unique item id, or an unambiguous prefix of either.

    Failing those, a whole dash-separated word of a single id will do: `micrograd` finds
    `zth-micrograd` when no other id has that word.
    """
    ref = ref.strip().strip("/")
    if not ref:
        raise ResolveError("empty item reference (give course/item, an item id or a prefix)", [])
    items = curriculum.items_by_key
    if ref in items:
        return items[ref]
    by_id = [i for i in items.values() if i.id == ref]
    if len(by_id) == 1:
        return by_id[0]
    matches = by_id or [i for i in items.values() if i.key.startswith(ref) or i.id.startswith(ref)]
    if not matches and "/" not in ref:
        word = re.compile(rf"(^|-){re.escape(ref)}(-|$)")
        matches = [i for i in items.values() if word.search(i.id)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        keys = sorted(i.key for i in matches)
        raise ResolveError(f"{ref!r} matches {len(keys)} items; be more specific", keys)
    close = difflib.get_close_matches(ref, list(items) + [i.id for i in items.values()], n=5, cutoff=0.6)
    keys = sorted({k if k in items else next(i.key for i in items.values() if i.id == k) for k in close})
    raise ResolveError(f"no item {ref!r}", keys)
