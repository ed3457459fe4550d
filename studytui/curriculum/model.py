"""The curriculum as plain data: courses, sections, items, glossary terms.

Everything here is immutable and built by the loader; nothing here parses or does I/O.
Progress is keyed by `Item.key` (`course/item`), never by position or title.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from studytui.curriculum.urls import resource_key

KINDS = (
    "video",
    "playlist",
    "course",
    "book",
    "chapter",
    "paper",
    "article",
    "post",
    "repo",
    "notebook",
    "exercise",
    "topic",
    "lab",
    "talk",
    "tool",
    "demo",
    "website",
    "tip",
    "community",
    "model",
    "template",
    "dataset",
    "slides",
    "list",
)

STATUSES = ("todo", "doing", "done", "skipped")


# `dead:` on an item or link: None (alive, as far as anyone knows), True (dead, year not
# known) or the year it went dead, e.g. 2025 (paperswithcode.com shut down that year).
Dead = int | bool | None


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    url: str
    dead: Dead = None


@dataclass(frozen=True, slots=True)
class Item:
    course_id: str
    id: str
    title: str
    kind: str = "topic"
    url: str | None = None
    links: tuple[Link, ...] = ()
    duration_s: int | None = None  # seconds, as written in the YAML
    summary: str = ""
    tags: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()  # glossary ids
    lab: str | None = None
    prerequisites: tuple[str, ...] = ()  # resolved item keys (course/item)
    date: str | None = None
    by: str | None = None
    data: Any = None
    children: tuple["Item", ...] = ()
    parent_key: str | None = None
    section_id: str = ""
    source: str = ""  # "path:line" where it is defined
    dead: Dead = None  # the item's url is known to be dead (see Link.dead)
    # True when `lab` is not the item's own but its nearest ancestor's: a rung of the
    # speed-up ladder offers the ladder's lab; validation still knows what was written.
    lab_inherited: bool = False

    @property
    def key(self) -> str:
        return f"{self.course_id}/{self.id}"

    def walk(self) -> Iterator["Item"]:
        """This item, then its descendants, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def effective_duration_s(self) -> int:
        """Study time this subtree stands for: the children's, or its own if they have none."""
        child_total = sum(c.effective_duration_s for c in self.children)
        return child_total if child_total else (self.duration_s or 0)


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    summary: str = ""
    items: tuple[Item, ...] = ()

    def walk(self) -> Iterator[Item]:
        for item in self.items:
            yield from item.walk()


@dataclass(frozen=True, slots=True)
class Course:
    id: str
    title: str
    summary: str = ""
    order: int = 1000
    source: str = ""
    tags: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()
    path: str = ""

    def walk(self) -> Iterator[Item]:
        """Every item of the course, in reading order."""
        for section in self.sections:
            yield from section.walk()


@dataclass(frozen=True, slots=True)
class Term:
    id: str
    term: str
    definition: str
    aliases: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    see_also: tuple[str, ...] = ()
    source: str = ""


# Kinds that stand for an idea and cite a page, rather than being the page: the eleven
# tips of one blog post, or "Step 2: tokenization" pointing at a demo, are not copies.
_CITING_KINDS = frozenset({"topic", "tip", "exercise", "lab"})


def copy_groups(items) -> dict[str, tuple[str, ...]]:
    """Item key -> the other items whose URL names the same resource (in curriculum order).

    "Let's build GPT" in three courses is one video: progress on one is progress on all.
    """
    by_resource: dict[str, list[str]] = {}
    for item in items:
        if item.url and item.kind not in _CITING_KINDS:
            by_resource.setdefault(resource_key(item.url), []).append(item.key)
    copies: dict[str, tuple[str, ...]] = {}
    for keys in by_resource.values():
        if len(keys) > 1:
            for key in keys:
                copies[key] = tuple(k for k in keys if k != key)
    return copies


@dataclass(frozen=True)
class Curriculum:
    courses: tuple[Course, ...] = ()
    terms: tuple[Term, ...] = ()
    items_by_key: dict[str, Item] = field(default_factory=dict)
    terms_by_id: dict[str, Term] = field(default_factory=dict)
    # glossary id -> keys of the items that teach it (the glossary's link back)
    taught_by: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # item key -> keys of the other items that are the same resource (see copy_groups)
    copies: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, courses: list[Course], terms: list[Term]) -> "Curriculum":
        courses = sorted(courses, key=lambda c: (c.order, c.title.lower()))
        items_by_key = {item.key: item for c in courses for item in c.walk()}
        taught: dict[str, list[str]] = {}
        for item in items_by_key.values():
            for term_id in item.terms:
                taught.setdefault(term_id, []).append(item.key)
        return cls(
            courses=tuple(courses),
            terms=tuple(sorted(terms, key=lambda t: t.term.lower())),
            items_by_key=items_by_key,
            terms_by_id={t.id: t for t in terms},
            taught_by={k: tuple(v) for k, v in taught.items()},
            copies=copy_groups(items_by_key.values()),
        )

    def course(self, course_id: str) -> Course | None:
        return next((c for c in self.courses if c.id == course_id), None)

    def items(self) -> Iterator[Item]:
        """Every item in curriculum order (course order, then reading order)."""
        for course in self.courses:
            yield from course.walk()
