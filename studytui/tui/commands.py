"""The command palette (ctrl+p): items, glossary terms and the desk's own commands.

Items and terms come from studytui.search (titles weigh most, then tags, terms and
summaries); commands are matched by Textual's fuzzy matcher.
"""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from studytui.safetext import clean, markup_escape
from studytui.search import search


def desk_commands(app) -> list[tuple[str, object, str]]:
    cmds = [
        ("Go to the desk", partial(app.action_switch_mode, "desk"), "progress, streak, next up"),
        ("Go to the curriculum", partial(app.action_switch_mode, "curriculum"), "courses, sections, items"),
        ("Go to the glossary", partial(app.action_switch_mode, "glossary"), "terms and definitions"),
        ("Go to the reading list", partial(app.action_switch_mode, "reading"), "inbox and archive"),
        ("Open the labs", app.action_labs, "start a run, watch runs"),
        ("Review the glossary cards", partial(app.action_switch_mode, "review"), "cards due now (V)"),
        ("Undo the last change", app.action_undo, "status, note or logged time"),
        ("Stop the study timer", app.stop_timer, "log the time studied"),
        ("Toggle ASCII glyphs", app.toggle_ascii, "for terminals that show empty boxes"),
        ("Show keys", app.action_help, "every key binding"),
    ]
    return cmds


class StudyCommands(Provider):
    async def discover(self) -> Hits:
        for name, callback, help_text in desk_commands(self.app):
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        app = self.app
        matcher = self.matcher(query)
        for name, callback, help_text in desk_commands(app):
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
        state = getattr(app, "state", None)
        if state is None:
            return
        for rank, hit in enumerate(search(state.curriculum, query, limit=20)):
            score = max(0.05, 0.9 - rank * 0.04)  # keep search's order below strong command matches
            if hit.kind == "item":
                yield Hit(
                    score,
                    Text(clean(f"{hit.title}  ({hit.key})")),
                    partial(app.show_item, hit.key),
                    text=clean(hit.title),
                    help=markup_escape(hit.snippet or "item"),
                )
            else:
                yield Hit(
                    score,
                    Text(clean(f"term: {hit.title}")),
                    partial(app.show_term, hit.key),
                    text=clean(hit.title),
                    help=markup_escape(hit.snippet or "glossary term"),
                )
