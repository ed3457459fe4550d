"""The curriculum cache: a loaded curriculum kept as plain JSON under the home.

A 10,000-item curriculum takes over a second to parse and check; read back from here it
takes a tenth of that. JSON and not pickle: the home may hold files someone else put
there (a copied home, a shared machine), and loading a pickle runs whatever code it
names. Reading JSON can only ever give back data; anything odd about the file (a stale
key, a wrong shape, a planted payload) just means a cold load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from studytui.atomic import write_atomic
from studytui.curriculum.model import Course, Curriculum, Item, Link, Section, Term

CACHE_NAME = "curriculum.json"
FORMAT = "studytui-curriculum-cache"
VERSION = 3


def read(cache_dir: Path, key: Any):
    """(curriculum, problems as tuples) stored under `key`, or None for a miss of any kind."""
    try:
        doc = json.loads((Path(cache_dir) / CACHE_NAME).read_bytes())
        if (
            not isinstance(doc, dict)
            or doc.get("format") != FORMAT
            or doc.get("version") != VERSION
            or doc.get("key") != _normalized(key)
        ):
            return None
        courses = [_course(c) for c in doc["courses"]]
        terms = [_term(t) for t in doc["terms"]]
        problems = [(str(p), int(line), int(col), str(msg)) for p, line, col, msg in doc["problems"]]
        return Curriculum.build(courses, terms), problems
    except Exception:  # missing, unreadable, not ours, or shaped wrong: a cold load  # noqa: BLE001
        return None


def write(cache_dir: Path, key: Any, curriculum: Curriculum, problems) -> None:
    """Keep `curriculum` for the next start; a read-only home only loses the speed-up."""
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "key": _normalized(key),
        "courses": [_course_doc(c) for c in curriculum.courses],
        "terms": [_term_doc(t) for t in curriculum.terms],
        "problems": [[p.path, p.line, p.col, p.message] for p in problems],
    }
    try:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        write_atomic(Path(cache_dir) / CACHE_NAME, json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
    except (
        OSError,
        ValueError,
        TypeError,
    ):  # a cache that cannot be written is no cache: load cold next time
        pass


def _normalized(key: Any) -> Any:
    """The key as JSON gives it back (tuples become lists), so a stored key compares equal."""
    return json.loads(json.dumps(key))


# -- model objects to JSON and back ------------------------------------------------------------


def _links_doc(links) -> list:
    return [[link.title, link.url, link.dead] for link in links]


def _links(doc) -> tuple[Link, ...]:
    return tuple(Link(str(title), str(url), dead) for title, url, dead in doc)


def _item_doc(item: Item) -> list:
    # A row in Item's field order, less what the course and section give back (course id,
    # section id, parent key): a third smaller than a dict, and built positionally.
    return [
        item.id,
        item.title,
        item.kind,
        item.url,
        _links_doc(item.links),
        item.duration_s,
        item.summary,
        list(item.tags),
        list(item.terms),
        item.lab,
        list(item.prerequisites),
        item.date,
        item.by,
        item.data,
        [_item_doc(c) for c in item.children],
        item.source,
        item.dead,
        item.lab_inherited,
    ]


def _item(row: list, course_id: str, section_id: str, parent_key: str | None) -> Item:
    (
        id_,
        title,
        kind,
        url,
        links,
        duration_s,
        summary,
        tags,
        terms,
        lab,
        prerequisites,
        date,
        by,
        data,
        children,
        source,
        dead,
        lab_inherited,
    ) = row
    key = f"{course_id}/{id_}"
    return Item(
        course_id,
        id_,
        title,
        kind,
        url,
        _links(links) if links else (),
        duration_s,
        summary,
        tuple(tags),
        tuple(terms),
        lab,
        tuple(prerequisites),
        date,
        by,
        data,
        tuple(_item(c, course_id, section_id, key) for c in children) if children else (),
        parent_key,
        section_id,
        source,
        dead,
        lab_inherited,
    )


def _course_doc(course: Course) -> dict:
    return {
        "id": course.id,
        "title": course.title,
        "summary": course.summary,
        "order": course.order,
        "source": course.source,
        "tags": list(course.tags),
        "path": course.path,
        "sections": [
            {"id": s.id, "title": s.title, "summary": s.summary, "items": [_item_doc(i) for i in s.items]}
            for s in course.sections
        ],
    }


def _course(doc: dict) -> Course:
    course_id = doc["id"]
    sections = tuple(
        Section(
            s["id"], s["title"], s["summary"], tuple(_item(i, course_id, s["id"], None) for i in s["items"])
        )
        for s in doc["sections"]
    )
    return Course(
        id=doc["id"],
        title=doc["title"],
        summary=doc["summary"],
        order=doc["order"],
        source=doc["source"],
        tags=tuple(doc["tags"]),
        path=doc["path"],
        sections=sections,
    )


def _term_doc(term: Term) -> dict:
    return {
        "id": term.id,
        "term": term.term,
        "definition": term.definition,
        "aliases": list(term.aliases),
        "links": _links_doc(term.links),
        "see_also": list(term.see_also),
        "source": term.source,
    }


def _term(doc: dict) -> Term:
    return Term(
        id=doc["id"],
        term=doc["term"],
        definition=doc["definition"],
        aliases=tuple(doc["aliases"]),
        links=_links(doc["links"]),
        see_also=tuple(doc["see_also"]),
        source=doc["source"],
    )
