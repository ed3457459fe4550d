"""Whatever bytes a curriculum file holds, the loader answers with Problems, never an exception."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from studytui.curriculum import load_curriculum, validate_paths

VALID = Path(__file__).parent / "fixtures" / "curricula" / "valid"
SAMPLE = (VALID / "llm-study.yaml").read_bytes()
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Pieces that stress the reader: YAML syntax, tags, anchors, wrong types, odd bytes.
_TOKENS = st.sampled_from(
    [
        b"- ",
        b": ",
        b"[",
        b"]",
        b"{",
        b"}",
        b"&a ",
        b"*a",
        b"!!python/object ",
        b"!x ",
        b"---\n",
        b"\n",
        b"  ",
        b"\t",
        b"#",
        b"'",
        b'"',
        b"|\n",
        b"null",
        b"~",
        b"42",
        b"1:05:00",
        b"\xff",
        b"\xc3",
        b"\x00",
        b"id: x\n",
        b"title: T\n",
        b"items:\n",
        b"sections:\n",
        b"duration: 4\n",
        b"prerequisites: [x]\n",
        b"terms: [bpe]\n",
        b"kind: vid\n",
        b"<<: *a\n",
        "✅".encode(),
    ]
)


def _check(tmp_path: Path, data: bytes, name: str = "fuzz.yaml") -> None:
    path = tmp_path / name
    path.write_bytes(data)
    problems = validate_paths([path], context_dirs=[VALID], known_labs={"tokenizer"})
    text = data.decode("utf-8", "replace")
    n_lines = sum(text.count(br) for br in ("\n", "\r", "\x85", "\u2028", "\u2029")) + 1  # YAML's line breaks
    for p in problems:
        assert p.path == str(path) and p.col >= 1
        assert 1 <= p.line <= n_lines, f"{p} names a line the file does not have ({n_lines})"
        assert p.message and "\n" not in p.message
        assert "internal error" not in p.message, p
    result = load_curriculum([], extra_files=[path])
    assert result.curriculum is not None


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(tmp_path, data):
    _check(tmp_path, data)


@FUZZ
@given(st.lists(_TOKENS, max_size=40))
@example(pieces=[b"---\n", b"  "])  # an empty document's null, which libyaml puts past the end
def test_random_yaml_pieces(tmp_path, pieces):
    _check(tmp_path, b"".join(pieces))


@FUZZ
@given(st.data())
def test_mutated_valid_sample(tmp_path, data):
    text = bytearray(SAMPLE)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        at = data.draw(st.integers(0, len(text) - 1))
        if op == "delete":
            del text[at : at + data.draw(st.integers(1, 20))]
        elif op == "insert":
            text[at:at] = data.draw(_TOKENS)
        else:
            text[at] = data.draw(st.integers(0, 255))
    _check(tmp_path, bytes(text))


_SAMPLE_LINES = SAMPLE.decode("utf-8").splitlines()
# The title line of each item (items sit at least 8 columns in; sections at 4).
_TITLE_LINES = [
    i
    for i, line in enumerate(_SAMPLE_LINES)
    if line.lstrip().startswith("title: ")
    and line.startswith(" " * 8)
    and _SAMPLE_LINES[i - 1].lstrip().startswith("- id: ")
]


@FUZZ
@given(
    at=st.sampled_from(_TITLE_LINES),
    bad=st.sampled_from(
        [
            ("bogus: 1", "unknown key 'bogus'"),
            ('by: "\\e]0;pwned\\a"', "by contains a control character U+001B"),
            ('url: "http://[::1"', "url is not a valid URL"),
            ("duration: forever", "unreadable duration 'forever'"),
            ("kind: vidoe", "unknown kind 'vidoe'"),
        ]
    ),
)
def test_an_error_names_its_line(tmp_path, at, bad):
    """One bad line put after any item's title: the problem is reported at that very line."""
    line, message = bad
    lines = SAMPLE.decode("utf-8").splitlines()
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines.insert(at + 1, indent + line)
    path = tmp_path / "one-bad-line.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = validate_paths([path], context_dirs=[VALID], known_labs={"tokenizer", "gpt", "gpt-ladder"})
    assert [(p.line, p.col) for p in problems if message in p.message] == [
        (at + 2, len(indent) + 1 + (0 if message.startswith("unknown key") else len(line.split(":")[0]) + 2))
    ], problems


@FUZZ
@given(st.lists(_TOKENS, max_size=30))
def test_random_glossary(tmp_path, pieces):
    _check(tmp_path, b"terms:\n  - " + b"".join(pieces), name="glossary.yaml")


def test_nested_aliases_are_refused_fast(tmp_path):
    # 9**20 leaves if expanded; the revisit budget stops it after a few hundred thousand.
    lines = [
        "id: bomb",
        "title: Bomb",
        "sections:",
        "  - id: s",
        "    title: S",
        "    items:",
        "      - id: a",
        "        title: A",
        "        data:",
        '          l0: &l0 ["lol","lol"]',
    ]
    lines += [f"          l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 21)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    start = time.perf_counter()
    problems = validate_paths([path])
    assert time.perf_counter() - start < 5  # generous for CI noise; ~0.1 s here
    assert [p.message for p in problems] == ["too many aliases (alias bomb?)"]


def test_recursive_alias_in_items_is_refused(tmp_path):
    path = tmp_path / "rec.yaml"
    path.write_text(
        "id: rec\ntitle: R\nsections:\n  - id: s\n    title: S\n    items: &x\n"
        "      - id: a\n        title: A\n        items: *x\n",
        encoding="utf-8",
    )
    problems = validate_paths([path])
    assert problems and all("internal error" not in p.message for p in problems)
