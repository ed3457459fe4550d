"""Ranked search over items and glossary terms: titles count most, then tags and terms,
then summaries. Small and dependency-free; the whole built-in curriculum is a few
hundred items, and 10,000 still search in milliseconds."""

from __future__ import annotations

import re
from dataclasses import dataclass

from studytui.curriculum.model import Curriculum

_WORD = re.compile(r"[\w+#.-]+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    kind: str          # "item" or "term"
    key: str           # course/item, or the term id
    title: str
    score: float
    snippet: str = ""


def _words(text: str) -> list[str]:
    return [w.strip(".-").lower() for w in _WORD.findall(text or "") if w.strip(".-")]


def _field_score(query_words: list[str], phrase: str, text: str, weight: float) -> float:
    if not text:
        return 0.0
    lowered = text.lower()
    words = set(_words(text))
    score = 0.0
    if phrase and phrase in lowered:
        score += 2 * weight
    for q in query_words:
        if q in words:
            score += weight
        elif any(w.startswith(q) for w in words):
            score += weight / 2
    return score


def search(curriculum: Curriculum, query: str, limit: int = 20) -> list[Hit]:
    phrase = " ".join(query.lower().split())
    qwords = _words(query)
    if not qwords:
        return []
    hits: list[Hit] = []
    for item in curriculum.items_by_key.values():
        score = (_field_score(qwords, phrase, item.title, 5)
                 + _field_score(qwords, phrase, " ".join(item.tags + item.terms), 3)
                 + _field_score(qwords, phrase, item.kind, 1)
                 + _field_score(qwords, phrase, item.summary, 1))
        if score and _covers(qwords, item.title, item.summary, item.tags, item.terms, item.kind):
            hits.append(Hit("item", item.key, item.title, score, _snippet(item.summary, qwords)))
    for term in curriculum.terms:
        score = (_field_score(qwords, phrase, term.term, 6)
                 + _field_score(qwords, phrase, " ".join(term.aliases) + " " + term.id, 5)
                 + _field_score(qwords, phrase, term.definition, 1))
        if score and _covers(qwords, term.term, term.definition, term.aliases, (term.id,)):
            hits.append(Hit("term", term.id, term.term, score, _snippet(term.definition, qwords)))
    hits.sort(key=lambda h: (-h.score, h.title.lower()))
    return hits[:limit]


def _covers(qwords: list[str], *fields) -> bool:
    """Every query word appears somewhere (as a word prefix): 'flash attention' must not
    match every item that merely mentions attention."""
    words: set[str] = set()
    for f in fields:
        words.update(_words(" ".join(f) if isinstance(f, tuple) else f))
    return all(any(w.startswith(q) for w in words) for q in qwords)


def _snippet(text: str, qwords: list[str], width: int = 90) -> str:
    flat = " ".join((text or "").split())
    lowered = flat.lower()
    pos = min((lowered.find(q) for q in qwords if q in lowered), default=0)
    start = max(0, pos - width // 3)
    piece = flat[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")
