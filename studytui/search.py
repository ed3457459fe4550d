"""Ranked search over items and glossary terms: titles count most, then tags and terms,
then summaries. Small and dependency-free; the whole built-in curriculum is a few
hundred items, and 10,000 still search in milliseconds.

Case and punctuation never matter: "lets build gpt" finds "Let's build GPT:", "gpt2"
finds "GPT-2" and "gpt-2" finds "GPT 2"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from studytui.curriculum.model import Curriculum

_WORD = re.compile(r"[\w+#.-]+", re.UNICODE)
# Apostrophes join a word ("let's" is "lets"); other punctuation separates words.
_APOSTROPHES = re.compile(r"['’ʼ`]")
_PUNCT = re.compile(r"[^\w+#]+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    kind: str  # "item" or "term"
    key: str  # course/item, or the term id
    title: str
    score: float
    snippet: str = ""


def _fold(text: str) -> str:
    """Lower case, apostrophes dropped, every other run of punctuation one space."""
    return " ".join(_PUNCT.sub(" ", _APOSTROPHES.sub("", (text or "").lower())).split())


def _query_words(text: str) -> list[str]:
    return _fold(text).split()


def _words(text: str) -> list[str]:
    """The words of a text: each part ("gpt", "2") and each compound run together ("gpt2")."""
    out = []
    for token in _WORD.findall(_APOSTROPHES.sub("", (text or "").lower())):
        parts = _PUNCT.sub(" ", token).split()
        out += parts
        if len(parts) > 1:
            out.append("".join(parts))
    return out


def _field_score(query_words: list[str], phrase: str, text: str, weight: float) -> float:
    if not text:
        return 0.0
    lowered = _fold(text)
    words = set(_words(text))
    score = 0.0
    if phrase and (phrase in lowered or phrase.replace(" ", "") in lowered.replace(" ", "")):
        score += 2 * weight
    for q in query_words:
        if q in words:
            score += weight
        elif any(w.startswith(q) for w in words):
            score += weight / 2
    return score


def search(curriculum: Curriculum, query: str, limit: int = 20) -> list[Hit]:
    phrase = _fold(query)
    qwords = _query_words(query)
    if not qwords:
        return []
    hits: list[Hit] = []
    for item in curriculum.items_by_key.values():
        score = (
            _field_score(qwords, phrase, item.title, 5)
            + _field_score(qwords, phrase, " ".join(item.tags + item.terms), 3)
            + _field_score(qwords, phrase, item.kind, 1)
            + _field_score(qwords, phrase, item.summary, 1)
        )
        if score and _covers(qwords, item.title, item.summary, item.tags, item.terms, item.kind):
            hits.append(Hit("item", item.key, item.title, score, _snippet(item.summary, qwords)))
    for term in curriculum.terms:
        score = (
            _field_score(qwords, phrase, term.term, 6)
            + _field_score(qwords, phrase, " ".join(term.aliases) + " " + term.id, 5)
            + _field_score(qwords, phrase, term.definition, 1)
        )
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
    lowered = flat.lower()  # the snippet shows the text as written: find the words in it as they are
    pos = min((lowered.find(q) for q in qwords if q in lowered), default=0)
    start = max(0, pos - width // 3)
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")
