"""Generate a large, valid curriculum folder for benchmarks and UI tests (plain data, no textual).

    python -m studytui.curriculum.generate DIR 10000

Deterministic: the same arguments give the same files. The shape mimics the real curriculum:
courses of sections, playlists with nested videos, durations in several spellings, links,
glossary terms, prerequisites within and across courses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

_KINDS = ("video", "paper", "article", "post", "repo", "notebook", "book", "talk")
_DURATIONS = ("42m", "1h", "1h30m", "90 min", "1:05:00", "45:10", "2 hours", "30s", "1.5h", "4hrs")
_WORDS = (
    "attention",
    "tokenizer",
    "gradient",
    "embedding",
    "softmax",
    "residual",
    "layer norm",
    "sampling",
    "scaling",
    "optimizer",
    "dataset",
    "inference",
)


def _q(text: str) -> str:
    # JSON strings are valid YAML double-quoted scalars: safe for ':' and '#' in titles.
    return json.dumps(text, ensure_ascii=False)


def generate_curriculum(
    path: Path,
    n_items: int,
    *,
    n_courses: int = 4,
    section_size: int = 50,
    n_terms: int = 200,
    playlist_every: int = 10,
    playlist_size: int = 5,
) -> list[Path]:
    """Write `n_courses` course files plus glossary.yaml holding `n_items` items in all into the
    folder `path` (created if needed); return the files written."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    n_courses = max(1, min(n_courses, n_items or 1))
    files = []

    term_ids = [f"term-{t}" for t in range(n_terms)]
    g = ["terms:"]
    for t, term_id in enumerate(term_ids):
        word = _WORDS[t % len(_WORDS)]
        g += [
            f"  - id: {term_id}",
            f"    term: {_q(f'{word.title()} {t}')}",
            f"    aliases: [{_q(f'{word} {t}')}]",
            "    definition: |",
            f"      A generated definition of {word} number {t}, long enough to wrap once",
            "      in a narrow terminal and be searched.",
            f'    links: [{{title: notes, url: "https://example.com/glossary/{t}"}}]',
        ]
        if t:
            g.append(f"    see_also: [{term_ids[t - 1]}]")
    files.append(path / "glossary.yaml")
    files[-1].write_text("\n".join(g) + "\n", encoding="utf-8")

    per_course = [n_items // n_courses + (1 if c < n_items % n_courses else 0) for c in range(n_courses)]
    counter = 0
    cross_ref = None  # the first item of the previous course: a prerequisite across files
    for c, count in enumerate(per_course):
        course_id = f"gen-{c:02d}"
        lines = [
            f"id: {course_id}",
            f"title: {_q(f'Generated course {c} – {_WORDS[c % len(_WORDS)]}')}",
            f"order: {100 + c}",
            "summary: |",
            f"  Generated course number {c} for benchmarks.",
            "tags: [generated]",
            "sections:",
        ]
        made = 0
        section = 0
        previous = None
        while made < count:
            lines += [f"  - id: s{section:03d}", f"    title: {_q(f'Section {section}')}", "    items:"]
            in_section = 0
            while made < count and in_section < section_size:
                n = counter
                item_id = f"item-{n:05d}"
                is_playlist = n % playlist_every == 0 and count - made > playlist_size
                lines += _item_lines(
                    item_id,
                    n,
                    "      ",
                    "playlist" if is_playlist else _KINDS[n % len(_KINDS)],
                    term_ids,
                    previous,
                    course_id,
                    cross_ref,
                )
                made += 1
                counter += 1
                in_section += 1
                previous = item_id
                if is_playlist:
                    lines.append("        items:")
                    for _ in range(playlist_size):
                        child = f"item-{counter:05d}"
                        lines += _item_lines(
                            child, counter, "          ", "video", term_ids, None, course_id, None
                        )
                        made += 1
                        counter += 1
            section += 1
        if count:
            cross_ref = f"{course_id}/item-{counter - count:05d}"
        files.append(path / f"{course_id}.yaml")
        files[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


def _item_lines(
    item_id: str,
    n: int,
    indent: str,
    kind: str,
    term_ids: list[str],
    previous: str | None,
    course_id: str,
    cross_ref: str | None,
) -> list[str]:
    word = _WORDS[n % len(_WORDS)]
    i2 = indent + "  "
    out = [
        f"{indent}- id: {item_id}",
        f"{i2}title: {_q(f'Item {n}: {word} explained')}",
        f"{i2}kind: {kind}",
        f"{i2}url: https://example.com/{course_id}/{item_id}",
        f"{i2}summary: {_q(f'What item {n} teaches about {word}, and why it matters.')}",
        f"{i2}tags: [{word.replace(' ', '-')}, t{n % 7}]",
    ]
    if kind != "playlist":
        out.append(f"{i2}duration: {_DURATIONS[n % len(_DURATIONS)]}")
    if term_ids:
        out.append(f"{i2}terms: [{term_ids[n % len(term_ids)]}]")
    if n % 3 == 0:
        out.append(f'{i2}links: [{{title: code, url: "https://github.com/example/{item_id}"}}]')
    prereqs = []
    if previous and n % 4 == 0:
        prereqs.append(previous)
    if cross_ref and n % 50 == 1:
        prereqs.append(cross_ref)
    if prereqs:
        out.append(f"{i2}prerequisites: [{', '.join(prereqs)}]")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3 or not sys.argv[2].isdigit():
        sys.exit("usage: python -m studytui.curriculum.generate DIR N_ITEMS")
    written = generate_curriculum(Path(sys.argv[1]), int(sys.argv[2]))
    print("\n".join(str(p) for p in written))
