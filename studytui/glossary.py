"""Finding a glossary term by id, name or alias, forgiving case, spacing and typos."""

from __future__ import annotations

import difflib
import re

from studytui.curriculum.model import Curriculum, Term


def normalize(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def names(term: Term) -> list[str]:
    return [term.id, term.term, *term.aliases]


def find_term(curriculum: Curriculum, query: str) -> tuple[Term | None, list[str]]:
    """(the term, []) on a match; (None, close names) otherwise."""
    q = normalize(query)
    index: dict[str, Term] = {}
    for term in curriculum.terms:
        for name in names(term):
            index.setdefault(normalize(name), term)
    if q in index:
        return index[q], []
    prefixed = {t.id: t for n, t in index.items() if n.startswith(q)}
    if len(prefixed) == 1:
        return next(iter(prefixed.values())), []
    close = difflib.get_close_matches(q, list(index), n=5, cutoff=0.6)
    candidates = list(dict.fromkeys(index[c].term for c in close)) or sorted(t.term for t in prefixed.values())[:5]
    return None, candidates


def fuzzy_terms(curriculum: Curriculum, query: str) -> list[Term]:
    """Terms for a live filter: substring matches on any name first, then close ones."""
    q = normalize(query)
    if not q:
        return list(curriculum.terms)
    direct = [t for t in curriculum.terms if any(q in normalize(n) for n in names(t))]
    if direct:
        return sorted(direct, key=lambda t: (not normalize(t.term).startswith(q), t.term.lower()))
    scored = []
    for term in curriculum.terms:
        best = max(difflib.SequenceMatcher(None, q, normalize(n)).ratio() for n in names(term))
        if best >= 0.6:
            scored.append((best, term))
    return [t for _, t in sorted(scored, key=lambda p: (-p[0], p[1].term.lower()))]
