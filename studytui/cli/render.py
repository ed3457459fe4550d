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
from studytui.study import CourseSummary

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


def summary_json(s: CourseSummary) -> dict[str, Any]:
    t = s.tally
    return {"id": s.course.id, "title": s.course.title, "done": t.done, "doing": t.doing,
            "skipped": t.skipped, "total": t.total, "percent": round(t.percent, 1),
            "hours_total": hours(t.seconds_total), "hours_done": hours(t.seconds_done),
            "hours_left": hours(t.seconds_left), "hours_logged": hours(s.seconds_logged)}


def item_json(item: Item, status: str) -> dict[str, Any]:
    return {"key": item.key, "course": item.course_id, "id": item.id, "title": item.title,
            "kind": item.kind, "status": status, "url": item.url,
            "links": [{"title": link.title, "url": link.url} for link in item.links],
            "duration": format_duration(item.duration_s) if item.duration_s else None,
            "duration_s": item.duration_s, "summary": item.summary, "tags": list(item.tags),
            "terms": list(item.terms), "lab": item.lab, "prerequisites": list(item.prerequisites),
            "parent": item.parent_key, "date": item.date, "by": item.by}


def term_json(term: Term, cur: Curriculum) -> dict[str, Any]:
    return {"id": term.id, "term": term.term, "aliases": list(term.aliases),
            "definition": term.definition,
            "links": [{"title": link.title, "url": link.url} for link in term.links],
            "see_also": list(term.see_also), "taught_by": list(cur.taught_by.get(term.id, ()))}


def status_table(console: Console, summaries: list[CourseSummary], orphans: list[str],
                 streak: int, logged: int) -> None:
    table = Table(title="Progress", title_justify="left", expand=False)
    for col, justify in (("course", "left"), ("done", "right"), ("%", "right"),
                         ("hours done", "right"), ("hours left", "right"), ("studied", "right")):
        table.add_column(col, justify=justify)
    for s in summaries:
        t = s.tally
        table.add_row(plain(s.course.title), f"{t.done}/{t.total}", f"{t.percent:.0f}%",
                      format_duration(t.seconds_done), format_duration(t.seconds_left),
                      format_duration(s.seconds_logged))
    console.print(table)
    console.print(f"streak: {streak} day{'s' * (streak != 1)} · studied in all: {format_duration(logged)}",
                  highlight=False)
    if orphans:
        console.print(Text(f"{len(orphans)} key(s) hold progress but are no longer in the "
                           "curriculum (kept): ", style="yellow") + _joined(orphans), highlight=False)


def item_line(item: Item, status: str) -> Text:
    mark, style = MARK.get(status, ("?", "dim"))
    text = Text(mark + " ", style=style)
    text.append(clean(item.key), style="bold")
    text.append(f"  {clean(item.title)}")
    if item.duration_s:
        text.append(f"  ({format_duration(item.duration_s)})", style="dim")
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
        console.print(link(item.url))
    for item_link in item.links:
        console.print(_titled_link(item_link.title, item_link.url))
    if item.summary:
        console.print(_markdown(item.summary))
    if item.terms:
        console.print(plain("terms: ") + _joined(cur.terms_by_id[t].term if t in cur.terms_by_id else t
                                                 for t in item.terms), highlight=False)
    if item.lab:
        console.print(plain(f"lab: {item.lab}  (studytui lab run {item.lab})"), highlight=False)
    if item.prerequisites:
        console.print(plain("prerequisites: ") + _joined(item.prerequisites), highlight=False)
    if doc["children"]:
        console.print(f"contains {len(doc['children'])} item(s)", highlight=False)
    if doc["note"]:
        console.rule("note", align="left")
        console.print(_markdown(doc["note"]))


def search_hits(console: Console, hits) -> None:
    for hit in hits:
        label = "term" if hit.kind == "term" else "item"
        console.print(Text.assemble((f"{label:4} ", "dim"), (clean(hit.key), "bold"), f"  {clean(hit.title)}"),
                      highlight=False)
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
        console.print("The reading list is empty: `studytui add URL --title ...` adds a link.",
                      markup=False, highlight=False)
        return
    table = Table(expand=False)
    for col in ("#", "place", "kind", "title", "url", "tags"):
        table.add_column(col, overflow="fold")
    for r in rows:
        place = f"{r['status']} ({r['course']})" if r["course"] else f"{r['status']}"
        # The URL in its own column, as the link's visible text: a title never hides where
        # a link goes.
        table.add_row(str(r["id"]), plain(place), plain(r["kind"]), plain(r["title"]),
                      link(r["url"]), _joined(r["tags"]))
    console.print(table)
