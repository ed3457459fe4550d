"""Progress over the curriculum: effective status, per-course figures, what to study next.

Pure functions over a Curriculum and the store's progress map, shared by the CLI and
the TUI. The unit of counting is a leaf item (a video, not its playlist); a status set
on a parent ("I read the whole book") carries down to children that have none of their own,
and an item that is the same resource as another (`Curriculum.copies`) shares its progress.

Hours: "done" is the time studied (logged time, or an item's length once it is done,
whichever is more); "left" is the length of what is unfinished, less the time logged on
it, and is unknown (None in JSON) when nothing unfinished has a known length.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from studytui.curriculum.durations import format_duration
from studytui.curriculum.model import Course, Curriculum, Item

FINISHED = ("done", "skipped")
NO_TIME: Mapping[str, int] = {}


class ResolveError(LookupError):
    """An ITEM reference the user typed matches nothing, or more than one item."""

    def __init__(self, message: str, candidates: list[str]):
        super().__init__(message)
        self.candidates = candidates


def effective_statuses(curriculum: Curriculum, progress: Mapping[str, object]) -> dict[str, str]:
    """Status of every item, a parent's done/skipped carrying down to unmarked children.

    Copies of one resource share progress: one done makes all done; one in progress makes
    the unstarted ones "doing". Only the item marked keeps a row: the others follow it.
    """
    own = {k: getattr(p, "status", p) for k, p in progress.items()}
    first = _walk_statuses(curriculum, own)
    if not curriculum.copies:
        return first
    shared = dict(own)
    for key, others in curriculum.copies.items():
        seen = {first[k] for k in others if k in first}
        mine = first.get(key, "todo")
        if "done" in seen and mine != "done":
            shared[key] = "done"
        elif "doing" in seen and mine == "todo":
            shared[key] = "doing"
    return _walk_statuses(curriculum, shared) if shared != own else first


def _walk_statuses(curriculum: Curriculum, own: Mapping[str, str]) -> dict[str, str]:
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
    """Counts and hours for any group of items: a course, a section, a playlist.

    `seconds_done` is study time (see the module docstring); `seconds_total` the length
    of the items whose length is known; `unknown_left` counts unfinished leaves of no
    known length, so "0m left" is never said of a course whose lengths are unknown.
    """

    done: int = 0
    skipped: int = 0
    doing: int = 0
    total: int = 0
    seconds_total: int = 0
    seconds_done: int = 0
    seconds_left: int = 0
    unknown_left: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.skipped

    @property
    def percent(self) -> float:
        countable = self.total - self.skipped
        return 100.0 * self.done / countable if countable else (100.0 if self.total else 0.0)

    @property
    def left_known(self) -> bool:
        """Whether `seconds_left` means something: some unfinished time is known, or nothing is left."""
        return self.seconds_left > 0 or self.unknown_left == 0

    @property
    def left_is_lower_bound(self) -> bool:
        return self.seconds_left > 0 and self.unknown_left > 0


def left_text(t: Tally) -> str:
    """Hours left as a person reads them: `4h 00m`, `4h 00m+` (some lengths unknown) or `unknown`."""
    if not t.left_known:
        return "unknown"
    return format_duration(t.seconds_left) + ("+" if t.left_is_lower_bound else "")


def total_text(t: Tally) -> str:
    """The known length of a group (`16h 05m`), or `unknown` when no item in it has one."""
    if not t.seconds_total:
        return "unknown" if t.total else format_duration(0)
    return format_duration(t.seconds_total)


def tally(
    items: Iterable[Item],
    statuses: Mapping[str, str],
    time_by_key: Mapping[str, int] = NO_TIME,
    *,
    skip: frozenset[str] = frozenset(),
) -> Tally:
    """Figures for `items` and their descendants; keys in `skip` count for nothing (the
    second copy of a resource in an all-courses total)."""
    done = skipped = doing = total = 0
    s_total = s_done = s_left = unknown = 0
    for top in items:
        for leaf in leaves([top]):
            if leaf.key in skip:
                continue
            status = statuses.get(leaf.key, "todo")
            total += 1
            done += status == "done"
            skipped += status == "skipped"
            doing += status == "doing"
        t, d, left, u = _time_split(top, statuses, time_by_key, skip)
        s_total, s_done, s_left, unknown = s_total + t, s_done + d, s_left + left, unknown + u
    return Tally(done, skipped, doing, total, s_total, s_done, s_left, unknown)


def _time_split(
    item: Item, statuses: Mapping[str, str], time_by_key: Mapping[str, int], skip: frozenset[str]
) -> tuple[int, int, int, int]:
    """(total, done, left, unfinished leaves of unknown length) for one subtree;
    children's durations win over the parent's own."""
    if item.key in skip:
        return 0, 0, 0, 0
    own_logged = time_by_key.get(item.key, 0)
    if any(c.effective_duration_s for c in item.children):
        parts = [_time_split(c, statuses, time_by_key, skip) for c in item.children]
        total, done, left, unknown = (sum(p[i] for p in parts) for i in range(4))
        # Time logged on the playlist itself is study of its videos.
        return total, done + own_logged, max(left - own_logged, 0), unknown
    seconds = item.duration_s or 0
    logged = sum(time_by_key.get(n.key, 0) for n in item.walk() if n.key not in skip)
    status = statuses.get(item.key, "todo")
    kids = [leaf for leaf in leaves(item.children) if leaf.key not in skip]
    kid_statuses = [statuses.get(leaf.key, "todo") for leaf in kids]
    if item.children and status not in FINISHED:
        if kid_statuses and all(k in FINISHED for k in kid_statuses):
            status = "done" if "done" in kid_statuses else "skipped"
    if status in FINISHED:
        return seconds, max(seconds, logged) if status == "done" else logged, 0, 0
    if seconds:
        return seconds, logged, max(seconds - logged, 0), 0
    unknown = sum(k not in FINISHED for k in kid_statuses) if item.children else 1
    return 0, logged, 0, unknown


@dataclass(frozen=True)
class CourseSummary:
    course: Course
    tally: Tally
    seconds_logged: int


def course_summaries(
    curriculum: Curriculum, progress: Mapping[str, object], time_by_key: Mapping[str, int]
) -> list[CourseSummary]:
    """One summary per course. A resource shared by two courses counts in both (each
    course's own figures); `overall_tally` counts it once."""
    statuses = effective_statuses(curriculum, progress)
    out = []
    for course in curriculum.courses:
        items = [i for s in course.sections for i in s.items]
        logged = sum(v for k, v in time_by_key.items() if k.startswith(course.id + "/"))
        out.append(CourseSummary(course, tally(items, statuses, time_by_key), logged))
    return out


def overall_tally(
    curriculum: Curriculum, progress: Mapping[str, object], time_by_key: Mapping[str, int]
) -> Tally:
    """Figures for the whole curriculum with each resource counted once: a video in three
    courses is one video, its hours once, the time logged on any copy on the first."""
    statuses = effective_statuses(curriculum, progress)
    skip: set[str] = set()
    merged = dict(time_by_key)
    for key in curriculum.items_by_key:  # curriculum order: the first copy stands
        if key in skip or key not in curriculum.copies:
            continue
        for other in curriculum.copies[key]:
            skip.add(other)
            merged[key] = merged.get(key, 0) + merged.pop(other, 0)
    tops = [i for c in curriculum.courses for s in c.sections for i in s.items]
    return tally(tops, statuses, merged, skip=frozenset(skip))


def dead_text(dead) -> str:
    """`dead link since 2025` / `dead link`: what a reader is told before following an
    item's or link's `dead` URL (None or False: "")."""
    if not dead:
        return ""
    return "dead link" + (f" since {dead}" if dead is not True else "")


def also_in(curriculum: Curriculum, item: Item) -> list[Item]:
    """The other items that are this same resource (its copies in other places)."""
    return [curriculum.items_by_key[k] for k in curriculum.copies.get(item.key, ())]


def orphan_keys(curriculum: Curriculum, *key_sets: Iterable[str]) -> list[str]:
    """Keys that hold progress, notes or time but no longer name an item in the YAML."""
    known = curriculum.items_by_key
    return sorted({k for keys in key_sets for k in keys if k not in known})


def next_items(curriculum: Curriculum, progress: Mapping[str, object], limit: int = 5) -> list[Item]:
    """What to study next: items in progress first, then the first unfinished leaves in
    curriculum order whose prerequisites are all finished. A resource listed in several
    courses is suggested once: the copy marked in progress, or the first ready one."""
    statuses = effective_statuses(curriculum, progress)
    in_progress = [i for i in leaves(_top_items(curriculum)) if statuses[i.key] == "doing"]
    marked = [
        i for i in in_progress if getattr(progress.get(i.key), "status", progress.get(i.key)) == "doing"
    ]
    seen: set[str] = set()
    kept = {i.key for i in _one_per_resource(curriculum, marked + in_progress, seen)}
    doing = [i for i in in_progress if i.key in kept]
    ready = []
    for item in leaves(_top_items(curriculum)):
        if len(doing) + len(ready) >= limit:
            break
        if statuses[item.key] != "todo" or item.key in seen:
            continue
        if all(_finished(curriculum, statuses, p) for p in _all_prerequisites(curriculum, item)):
            ready += _one_per_resource(curriculum, [item], seen)
    return (doing + ready)[:limit]


def _one_per_resource(curriculum: Curriculum, items: Iterable[Item], seen: set[str]) -> list[Item]:
    """`items` less those whose resource is in `seen` already (which grows with each kept)."""
    out = []
    for item in items:
        if item.key not in seen:
            seen.add(item.key)
            seen.update(curriculum.copies.get(item.key, ()))
            out.append(item)
    return out


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
