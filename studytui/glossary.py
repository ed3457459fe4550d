"""Finding a glossary term by id, name or alias, forgiving case, spacing and typos.

A suggestion must be a plausible typo of what was typed, never merely the nearest name:
"ropes" may suggest RoPE but not ROUGE, "vllm" must not suggest LLM. So only the
closest names are kept (within `NEAR_BEST` of the best ratio), short queries need a
higher ratio and the same first letter, every word typed must resemble a word of the name
("beam search" is not "semantic search"), and names are also compared with their spaces
and hyphens removed ("flash attention 2" is the alias "FlashAttention-2").
"""

from __future__ import annotations

import difflib
import re

from studytui.curriculum.model import Curriculum, Term

CUTOFF = 0.6  # difflib's ratio below which a name is not a suggestion at all
SHORT_QUERY = 5  # characters: at or below this, one edit changes a lot
SHORT_CUTOFF = 0.75
NEAR_BEST = 0.1  # keep only names this close to the best suggestion
WORD_CUTOFF = 0.5  # each word typed against its nearest word of the name ("nrom" ~ "norm")


def normalize(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def compact(text: str) -> str:
    """A name with its spaces, hyphens and underscores removed: `flashattention 2` → `flashattention2`."""
    return normalize(text).replace(" ", "")


def names(term: Term) -> list[str]:
    return [term.id, term.term, *term.aliases]


def close_names(query: str, candidates: list[str], n: int = 5) -> list[str]:
    """The candidates that could be a typo of `query`, best first (both already normalized)."""
    scored = []
    short = len(compact(query)) <= SHORT_QUERY
    for name in candidates:
        ratio = max(
            difflib.SequenceMatcher(None, query, name).ratio(),
            difflib.SequenceMatcher(None, compact(query), compact(name)).ratio(),
        )
        if ratio < (SHORT_CUTOFF if short else CUTOFF):
            continue
        if short and compact(name)[:1] != compact(query)[:1]:
            continue  # "vllm" is not a typo of "llm": a first letter is rarely the typo
        if compact(name) != compact(query) and not _words_resemble(query, name):
            continue
        scored.append((ratio, name))
    if not scored:
        return []
    best = max(r for r, _ in scored)
    kept = sorted((p for p in scored if p[0] >= best - NEAR_BEST), key=lambda p: (-p[0], p[1]))
    return [name for _, name in kept[:n]]


def _words_resemble(query: str, name: str) -> bool:
    name_words = re.findall(r"\w+", name) or [name]
    return all(
        max(difflib.SequenceMatcher(None, word, w).ratio() for w in name_words) >= WORD_CUTOFF
        for word in re.findall(r"\w+", query)
    )


def _index(curriculum: Curriculum) -> dict[str, Term]:
    index: dict[str, Term] = {}
    for term in curriculum.terms:
        for name in names(term):
            index.setdefault(normalize(name), term)
    return index


def find_term(curriculum: Curriculum, query: str) -> tuple[Term | None, list[str]]:
    """(the term, []) on a match; (None, close names) otherwise."""
    q = normalize(query)
    index = _index(curriculum)
    if q in index:
        return index[q], []
    by_compact = {t.id: t for n, t in index.items() if compact(n) == compact(q)}
    if len(by_compact) == 1:
        return next(iter(by_compact.values())), []
    prefixed = {t.id: t for n, t in index.items() if n.startswith(q)}
    if len(prefixed) == 1:
        return next(iter(prefixed.values())), []
    close = close_names(q, list(index))
    candidates = (
        list(dict.fromkeys(index[c].term for c in close)) or sorted(t.term for t in prefixed.values())[:5]
    )
    return None, candidates


def fuzzy_terms(curriculum: Curriculum, query: str) -> list[Term]:
    """Terms for a live filter: substring matches on any name first, then close ones."""
    q = normalize(query)
    if not q:
        return list(curriculum.terms)
    direct = [
        t for t in curriculum.terms if any(q in normalize(n) or compact(q) in compact(n) for n in names(t))
    ]
    if direct:
        return sorted(direct, key=lambda t: (not normalize(t.term).startswith(q), t.term.lower()))
    index = _index(curriculum)
    return list(dict.fromkeys(index[name] for name in close_names(q, list(index), n=len(index))))
