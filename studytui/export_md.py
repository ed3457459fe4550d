"""The markdown export: a checklist with ✅ marks, like the learners' own study notes.

Titles and notes come from shared curricula and the user's notes: they are cleaned of
control characters (studytui.safetext) and titles have markdown's link and HTML
characters escaped, so a title can only ever be text and a link only its own URL.
"""

from __future__ import annotations

import re

from studytui.curriculum.durations import format_duration
from studytui.curriculum.model import Curriculum, Item
from studytui.safetext import clean, is_linkable
from studytui.study import course_summaries, dead_text, effective_statuses, left_text, total_text

MARKS = {"done": "✅", "doing": "🔄", "skipped": "⏭️", "todo": "⬜"}
# What could turn a title into a link, an image, HTML or code: the rest (emphasis) only styles.
_MD_SPECIAL = re.compile(r"([\\`\[\]<>])")


def md_text(text: object) -> str:
    """One line of untrusted text as literal markdown: cleaned, special characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", clean(text))


def checklist(curriculum: Curriculum, store) -> str:
    progress, notes, time_by_key = store.progress(), store.notes(), store.time_by_key()
    runs = _runs_by_lab(curriculum, store)
    statuses = effective_statuses(curriculum, progress)
    lines: list[str] = []
    for summary in course_summaries(curriculum, progress, time_by_key):
        course, t = summary.course, summary.tally
        lines += [
            f"# {md_text(course.title)}",
            "",
            f"{t.done}/{t.total} done ({t.percent:.0f}%), studied {format_duration(t.seconds_done)}, "
            f"length {total_text(t)}, left {left_text(t)}",
            "",
        ]
        for section in course.sections:
            lines += [f"## {md_text(section.title)}", ""]
            for item in section.items:
                _item_lines(item, statuses, notes, time_by_key, runs, 0, lines)
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _item_lines(item: Item, statuses, notes, time_by_key, runs, depth: int, lines: list[str]) -> None:
    title = md_text(item.title)
    if item.url:
        url = clean(item.url)
        title = f"[{title}]({url})" if is_linkable(url) else f"{title} ({md_text(url)})"
    extras = []
    if item.duration_s:
        extras.append(f"({format_duration(item.duration_s)})")
    if time_by_key.get(item.key):
        extras.append(f"studied {format_duration(time_by_key[item.key])}")
    if item.dead:
        extras.append(f"⚠️ {dead_text(item.dead)}")
    line = "  " * depth + f"- {MARKS[statuses.get(item.key, 'todo')]} {title}"
    lines.append(" ".join([line, *extras]))
    note = clean(notes.get(item.key, ""), multiline=True).strip()
    if note:
        for note_line in note.splitlines():
            lines.append("  " * (depth + 1) + f"> {note_line}")
    for item_link in item.links:
        if item_link.dead:  # a live extra link needs no line; a dead one must not be followed unwarned
            lines.append(
                "  " * (depth + 1) + f"- ⚠️ {dead_text(item_link.dead)}: "
                f"{md_text(item_link.title)} ({md_text(clean(item_link.url))})"
            )
    if item.lab and not item.lab_inherited:
        for run in runs.get(item.lab, ()):
            report = f": report card {md_text(run['report'])}" if run["report"] else ""
            lines.append(
                "  " * (depth + 1) + f"- run {md_text(run['id'])} ({md_text(run['status'])}){report}"
            )
    for child in item.children:
        _item_lines(child, statuses, notes, time_by_key, runs, depth + 1, lines)


def _runs_by_lab(curriculum: Curriculum, store) -> dict[str, list[dict]]:
    """Each paired lab's newest indexed runs and their report cards, as the checklist lists
    them under the item that pairs with the lab."""
    from studytui.runs.index import lab_runs

    labs = {item.lab for item in curriculum.items_by_key.values() if item.lab}
    return {lab: lab_runs(store, lab) for lab in labs}
