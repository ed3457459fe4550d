"""Whatever bytes a curriculum file holds, the loader answers with Problems, never an exception."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from studytui.curriculum import load_curriculum, validate_paths

VALID = Path(__file__).parent / "fixtures" / "curricula" / "valid"
SAMPLE = (VALID / "llm-study.yaml").read_bytes()
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Pieces that stress the reader: YAML syntax, tags, anchors, wrong types, odd bytes.
_TOKENS = st.sampled_from([
    b"- ", b": ", b"[", b"]", b"{", b"}", b"&a ", b"*a", b"!!python/object ", b"!x ", b"---\n",
    b"\n", b"  ", b"\t", b"#", b"'", b'"', b"|\n", b"null", b"~", b"42", b"1:05:00", b"\xff",
    b"\xc3", b"\x00", b"id: x\n", b"title: T\n", b"items:\n", b"sections:\n", b"duration: 4\n",
    b"prerequisites: [x]\n", b"terms: [bpe]\n", b"kind: vid\n", b"<<: *a\n", "✅".encode(),
])


def _check(tmp_path: Path, data: bytes, name: str = "fuzz.yaml") -> None:
    path = tmp_path / name
    path.write_bytes(data)
    problems = validate_paths([path], context_dirs=[VALID], known_labs={"tokenizer"})
    for p in problems:
        assert p.path == str(path) and p.line >= 1 and p.col >= 1
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
            del text[at:at + data.draw(st.integers(1, 20))]
        elif op == "insert":
            text[at:at] = data.draw(_TOKENS)
        else:
            text[at] = data.draw(st.integers(0, 255))
    _check(tmp_path, bytes(text))


@FUZZ
@given(st.lists(_TOKENS, max_size=30))
def test_random_glossary(tmp_path, pieces):
    _check(tmp_path, b"terms:\n  - " + b"".join(pieces), name="glossary.yaml")


def test_nested_aliases_are_refused_fast(tmp_path):
    # 9**20 leaves if expanded; the revisit budget stops it after a few hundred thousand.
    lines = ["id: bomb", "title: Bomb", "sections:", "  - id: s", "    title: S", "    items:",
             "      - id: a", "        title: A", "        data:", '          l0: &l0 ["lol","lol"]']
    lines += [f"          l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 21)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    start = time.perf_counter()
    problems = validate_paths([path])
    assert time.perf_counter() - start < 5     # generous for CI noise; ~0.1 s here
    assert [p.message for p in problems] == ["too many aliases (alias bomb?)"]


def test_recursive_alias_in_items_is_refused(tmp_path):
    path = tmp_path / "rec.yaml"
    path.write_text("id: rec\ntitle: R\nsections:\n  - id: s\n    title: S\n    items: &x\n"
                    "      - id: a\n        title: A\n        items: *x\n", encoding="utf-8")
    problems = validate_paths([path])
    assert problems and all("internal error" not in p.message for p in problems)
