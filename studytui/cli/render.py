"""How the CLI shows things: JSON shapes (stable, see docs/cli.md) and rich output.

Every string here came from a curriculum folder, a note, the reading list or a backup:
it is shown through studytui.safetext (a `Text` built from cleaned text, never markup;
links whose visible text is their target), so it can neither break the output nor reach
the terminal as a control sequence.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from studytui.curriculum.durations import format_duration
from studytui.curriculum.model import Curriculum, Item, Term
from studytui.safetext import clean, link, plain
from studytui.study import CourseSummary, Tally, dead_text, left_text

MARK = {"done": ("✔", "green"), "doing": ("▶", "yellow"), "skipped": ("–", "dim"), "todo": ("·", "dim")}


def _markdown(text: str):
    """A note or summary as markdown, cleaned first; links are shown as `text (url)`,
    never as a terminal hyperlink whose label could differ from its target."""
    from rich.markdown import Markdown  # markdown-it is slow to import; only `show` needs it

    return Markdown(clean(text, multiline=True), hyperlinks=False)


def _joined(values) -> Text:
    return plain(", ".join(clean(v) for v in values))


def _titled_link(title: str, url: str) -> Text:
    return plain(f"{title}: ", "dim") + link(url)


def hours(seconds: int) -> float:
    return round(seconds / 3600, 2)


def tally_json(t: Tally) -> dict[str, Any]:
    """Counts and hours; a length nobody knows is null, never 0 (see docs/cli.md)."""
    return {
        "done": t.done,
        "doing": t.doing,
        "skipped": t.skipped,
        "total": t.total,
        "percent": round(t.percent, 1),
        "hours_total": hours(t.seconds_total) if t.seconds_total or not t.total else None,
        "hours_done": hours(t.seconds_done),
        "hours_left": hours(t.seconds_left) if t.left_known else None,
        "items_left_without_duration": t.unknown_left,
    }


def summary_json(s: CourseSummary) -> dict[str, Any]:
    return {
        "id": s.course.id,
        "title": s.course.title,
        **tally_json(s.tally),
        "hours_logged": hours(s.seconds_logged),
    }


def item_json(item: Item, status: str, also_in: list[Item] = ()) -> dict[str, Any]:
    return {
        "key": item.key,
        "course": item.course_id,
        "id": item.id,
        "title": item.title,
        "kind": item.kind,
        "status": status,
        "url": item.url,
        "dead": item.dead,
        "links": [{"title": link.title, "url": link.url, "dead": link.dead} for link in item.links],
        "duration": format_duration(item.duration_s) if item.duration_s else None,
        "duration_s": item.duration_s,
        "summary": item.summary,
        "tags": list(item.tags),
        "terms": list(item.terms),
        "lab": item.lab,
        "lab_inherited": item.lab_inherited,
        "prerequisites": list(item.prerequisites),
        "parent": item.parent_key,
        "date": item.date,
        "by": item.by,
        "also_in": [other.key for other in also_in],
    }


def term_json(term: Term, cur: Curriculum) -> dict[str, Any]:
    return {
        "id": term.id,
        "term": term.term,
        "aliases": list(term.aliases),
        "definition": term.definition,
        "links": [{"title": link.title, "url": link.url} for link in term.links],
        "see_also": list(term.see_also),
        "taught_by": list(cur.taught_by.get(term.id, ())),
    }


def status_table(
    console: Console,
    summaries: list[CourseSummary],
    orphans: list[str],
    streak: int,
    logged: int,
    overall: Tally | None = None,
) -> None:
    """Per course, then (given `overall`) a row for all courses with shared items once."""
    table = Table(title="Progress", title_justify="left", expand=False)
    for col, justify in (
        ("course", "left"),
        ("done", "right"),
        ("%", "right"),
        ("hours done", "right"),
        ("hours left", "right"),
        ("studied", "right"),
    ):
        table.add_column(col, justify=justify)
    for s in summaries:
        t = s.tally
        table.add_row(
            plain(s.course.title),
            f"{t.done}/{t.total}",
            f"{t.percent:.0f}%",
            format_duration(t.seconds_done),
            left_text(t),
            format_duration(s.seconds_logged),
        )
    if overall is not None and len(summaries) > 1:
        table.add_section()
        table.add_row(
            "all courses (shared items once)",
            f"{overall.done}/{overall.total}",
            f"{overall.percent:.0f}%",
            format_duration(overall.seconds_done),
            left_text(overall),
            format_duration(logged),
        )
    console.print(table)
    if any(s.tally.left_is_lower_bound for s in summaries) or (overall and overall.left_is_lower_bound):
        console.print(
            plain("+: at least; some unfinished items have no known length", "dim"), highlight=False
        )
    console.print(
        f"streak: {streak} day{'s' * (streak != 1)} · studied in all: {format_duration(logged)}",
        highlight=False,
    )
    if orphans:
        console.print(
            Text(
                f"{len(orphans)} key(s) hold progress but are no longer in the curriculum (kept): ",
                style="yellow",
            )
            + _joined(orphans),
            highlight=False,
        )


def item_line(item: Item, status: str) -> Text:
    mark, style = MARK.get(status, ("?", "dim"))
    text = Text(mark + " ", style=style)
    text.append(clean(item.key), style="bold")
    text.append(f"  {clean(item.title)}")
    if item.duration_s:
        text.append(f"  ({format_duration(item.duration_s)})", style="dim")
    if item.lab:
        text.append(f"  [lab: {clean(item.lab)}]", style="cyan")
    if item.dead:
        text.append(f"  ({dead_text(item.dead)})", style="yellow")
    return text


def item_detail(console: Console, item: Item, doc: dict[str, Any], cur: Curriculum) -> None:
    console.print(plain(item.title, "bold"))
    meta = [doc["key"], item.kind, doc["status"]]
    if item.duration_s:
        meta.append(format_duration(item.duration_s))
    if doc["seconds_logged"]:
        meta.append(f"studied {format_duration(doc['seconds_logged'])}")
    console.print(plain(" · ".join(meta), "dim"), highlight=False)
    if item.url:
        console.print(link(item.url) + _dead_note(item.dead))
    for item_link in item.links:
        console.print(_titled_link(item_link.title, item_link.url) + _dead_note(item_link.dead))
    if doc["also_in"]:
        console.print(plain("also in: ") + _joined(_also_in_names(doc["also_in"], cur)), highlight=False)
    if item.summary:
        console.print(_markdown(item.summary))
    if item.terms:
        console.print(
            plain("terms: ")
            + _joined(cur.terms_by_id[t].term if t in cur.terms_by_id else t for t in item.terms),
            highlight=False,
        )
    if item.lab:
        whose = " (from the item it belongs to)" if item.lab_inherited else ""
        console.print(plain(f"lab: {item.lab}{whose}  (studytui lab run {item.lab})"), highlight=False)
    for run in doc.get("runs", ()):
        report = f"  report: {run['report']}" if run["report"] else ""
        console.print(
            plain(f"  run {run['id']} ({run['status']}){report}"), highlight=False, soft_wrap=True
        )  # a path stays whole, to copy
    if item.prerequisites:
        console.print(plain("prerequisites: ") + _joined(item.prerequisites), highlight=False)
    if doc["children"]:
        console.print(f"contains {len(doc['children'])} item(s)", highlight=False)
    if doc["note"]:
        console.rule("note", align="left")
        console.print(_markdown(doc["note"]))


def _dead_note(dead) -> Text:
    return Text(f"  ({dead_text(dead)})", style="yellow") if dead else Text("")


def _also_in_names(keys: list[str], cur: Curriculum) -> list[str]:
    """`Course title (item key)` for each copy: where else the same resource is listed."""
    out = []
    for key in keys:
        item = cur.items_by_key.get(key)
        course = cur.course(item.course_id) if item else None
        out.append(f"{course.title} ({key})" if course else key)
    return out


def search_hits(console: Console, hits) -> None:
    for hit in hits:
        label = "term" if hit.kind == "term" else "item"
        console.print(
            Text.assemble((f"{label:4} ", "dim"), (clean(hit.key), "bold"), f"  {clean(hit.title)}"),
            highlight=False,
        )
        if hit.snippet:
            console.print(plain("     " + clean(hit.snippet), "dim"), highlight=False)


def glossary_table(console: Console, terms: tuple[Term, ...]) -> None:
    table = Table(show_header=True, expand=False)
    table.add_column("term", style="bold")
    table.add_column("id", style="dim")
    table.add_column("definition", overflow="fold")
    for t in terms:
        first = t.definition.strip().split(". ")[0].rstrip(".") + "."
        table.add_row(plain(t.term), plain(t.id), plain(first))
    console.print(table)


def term_detail(console: Console, term: Term, cur: Curriculum) -> None:
    console.print(plain(term.term, "bold"))
    if term.aliases:
        console.print(plain("also: ", "dim") + _joined(term.aliases), highlight=False)
    console.print(_markdown(term.definition))
    for term_link in term.links:
        console.print(_titled_link(term_link.title, term_link.url))
    if term.see_also:
        console.print(plain("see also: ") + _joined(term.see_also), highlight=False)
    taught = cur.taught_by.get(term.id, ())
    if taught:
        console.print(plain("taught by: ") + _joined(taught), highlight=False)


def reading_table(console: Console, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print(
            "The reading list is empty: `studytui add URL --title ...` adds a link.",
            markup=False,
            highlight=False,
        )
        return
    table = Table(expand=False)
    for col in ("#", "place", "kind", "title", "url", "tags"):
        table.add_column(col, overflow="fold")
    for r in rows:
        place = f"{r['status']} ({r['course']})" if r["course"] else f"{r['status']}"
        # The URL in its own column, as the link's visible text: a title never hides where
        # a link goes.
        table.add_row(
            str(r["id"]),
            plain(place),
            plain(r["kind"]),
            plain(r["title"]),
            link(r["url"]),
            _joined(r["tags"]),
        )
    console.print(table)
