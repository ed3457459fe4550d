"""The curriculum loader: the valid sample's structure, one bad file per error class, validate_paths."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from studytui.curriculum import load_curriculum, validate_paths
from studytui.curriculum.generate import generate_curriculum
from studytui.curriculum.loader import Problem

FIXTURES = Path(__file__).parent / "fixtures" / "curricula"
VALID = FIXTURES / "valid"
BAD = FIXTURES / "bad"
LABS = {"tokenizer", "gpt", "gpt-ladder"}


@pytest.fixture(scope="module")
def sample():
    return load_curriculum([VALID], known_labs=LABS)


def test_valid_sample_loads_without_problems(sample):
    assert sample.problems == []
    cur = sample.curriculum
    assert [c.id for c in cur.courses] == ["llm-study", "gpt2"]  # by `order`
    assert [t.id for t in cur.terms] == ["bpe", "pretraining", "tokenization"]  # by term, case-blind


def test_valid_sample_structure(sample):
    cur = sample.curriculum
    course = cur.course("llm-study")
    assert course.summary == "Talks and videos about large language models."
    assert course.tags == ("llm", "videos") and course.order == 10 and course.source == "seed 000"
    assert [s.id for s in course.sections] == ["karpathy", "papers"]
    assert [i.id for i in course.walk()] == [
        "intro-to-llms",
        "zero-to-hero",
        "micrograd",
        "tokenizer-video",
        "attention",
    ]

    playlist = cur.items_by_key["llm-study/zero-to-hero"]
    assert [c.key for c in playlist.children] == ["llm-study/micrograd", "llm-study/tokenizer-video"]
    assert playlist.duration_s == 15 * 3600
    assert playlist.effective_duration_s == (2 * 60 + 25) * 60 + 2 * 3600 + 13 * 60 + 35

    video = cur.items_by_key["llm-study/tokenizer-video"]
    assert video.parent_key == "llm-study/zero-to-hero" and video.section_id == "karpathy"
    assert video.title == "Let's build the GPT Tokenizer – 2024"
    assert video.terms == ("bpe", "tokenization") and video.lab == "tokenizer"
    assert video.prerequisites == ("llm-study/micrograd",)
    assert video.tags == ("overview",)  # through a YAML alias
    assert (
        video.source
        == f"{VALID / 'llm-study.yaml'}:{_line_of(VALID / 'llm-study.yaml', 'id: tokenizer-video')}"
    )

    intro = cur.items_by_key["llm-study/intro-to-llms"]
    assert intro.kind == "video" and intro.url == "https://www.youtube.com/watch?v=zjkBMFhNj_g"
    assert intro.links[0].title == "Blog notes" and intro.links[0].url.startswith("https://ppaolo")
    assert intro.duration_s == 3600 and intro.parent_key is None

    paper = cur.items_by_key["llm-study/attention"]
    assert paper.date == "2017-06-12" and paper.by == "Vaswani et al." and paper.duration_s == 45 * 60 + 10
    assert paper.data == {"citations": 100000, "venue": "NeurIPS", "open": True, "when": "2017-06-12"}
    assert paper.kind == "paper"
    assert cur.items_by_key["llm-study/micrograd"].kind == "video"


def test_cross_course_references_and_glossary_backlinks(sample):
    cur = sample.curriculum
    assert cur.items_by_key["gpt2/reproduce"].prerequisites == (
        "gpt2/lets-build-gpt",
        "llm-study/tokenizer-video",
    )
    assert cur.items_by_key["gpt2/lets-build-gpt"].duration_s == 116 * 60
    assert cur.taught_by["bpe"] == ("llm-study/tokenizer-video",)
    assert cur.terms_by_id["bpe"].see_also == ("tokenization",)
    assert cur.terms_by_id["tokenization"].definition == "Splitting text into the units a model reads."


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_bytes().split(b"\n")
    return next(n for n, line in enumerate(lines, 1) if needle.encode() in line)


# (fixture, message fragment); the expected line is the one marked `# ERROR` in the file.
BAD_CASES = [
    ("syntax.yaml", "YAML error"),
    ("not_utf8.yaml", "not UTF-8"),
    ("multi_document.yaml", "only one YAML document"),
    ("custom_tag.yaml", "custom tag '!!python/object:os.system' not allowed"),
    ("custom_tag_local.yaml", "custom tag '!foo' not allowed"),
    ("duplicate_key.yaml", "duplicate key 'title' (first at line"),
    ("unknown_key.yaml", "unknown key 'durration' in item (did you mean 'duration'?)"),
    ("wrong_type.yaml", "title must be a string, got list"),
    ("missing_required.yaml", "an item needs a 'title'"),
    ("bad_slug.yaml", "is not a slug"),
    ("unknown_kind.yaml", "unknown kind 'vidoe' (did you mean 'video'?)"),
    ("bad_url.yaml", "url must be an http(s) URL"),
    ("bad_link_url.yaml", "url must be an http(s) URL"),
    ("bad_duration.yaml", "write 42m"),
    ("duplicate_item_id.yaml", "duplicate item id 'a' in course 'bad-dup-item' (first defined at"),
    ("duplicate_section_id.yaml", "duplicate section id 'main'"),
    ("duplicate_course_id.yaml", f"duplicate course id 'gpt2' (first defined at {VALID / 'gpt2.yaml'}:1)"),
    ("unknown_term.yaml", "unknown glossary term 'tokenisation' (did you mean 'tokenization'?)"),
    ("unknown_prerequisite.yaml", "no item 'microgad' in course 'llm-study' (did you mean 'micrograd'?)"),
    (
        "prerequisite_cycle.yaml",
        "prerequisite cycle: bad-cycle/a -> bad-cycle/c -> bad-cycle/b -> bad-cycle/a",
    ),
    ("unknown_lab.yaml", "unknown lab 'tokeniser' (did you mean 'tokenizer'?)"),
    ("bad_order.yaml", "order must be an integer, got string"),
    ("empty.yaml", "file is empty"),
    ("not_a_mapping.yaml", "course must be a mapping, got list"),
    ("deep_nesting.yaml", "nested more than"),
    (
        "see_also/glossary.yaml",
        "see_also: unknown glossary term 'tokenisation' (did you mean 'tokenization'?)",
    ),
    ("dup_term/glossary.yaml", f"duplicate term id 'bpe' (first defined at {VALID / 'glossary.yaml'}:"),
]


@pytest.mark.parametrize("name, fragment", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_each_error_class_is_reported_once_at_its_line(name, fragment):
    path = BAD / name
    problems = validate_paths([path], context_dirs=[VALID], known_labs=LABS)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert problem.path == str(path)
    assert problem.line == _line_of(path, "# ERROR")
    assert fragment in problem.message
    assert "\n" not in problem.message and problem.col >= 1


def test_alias_bomb_is_refused_quickly():
    start = time.perf_counter()
    problems = validate_paths([BAD / "alias_bomb.yaml"])
    elapsed = time.perf_counter() - start
    assert [p.message for p in problems] == ["too many aliases (alias bomb?)"]
    assert elapsed < 5, "the budget must stop the expansion long before it finishes"  # generous: CI noise


def test_bad_files_are_skipped_and_good_ones_still_load(tmp_path):
    shutil.copytree(VALID, tmp_path / "cur")
    shutil.copy(BAD / "syntax.yaml", tmp_path / "cur" / "zz-broken.yaml")
    shutil.copy(BAD / "unknown_kind.yaml", tmp_path / "cur" / "zz-kind.yaml")
    result = load_curriculum([tmp_path / "cur"], known_labs=LABS)
    assert {Path(p.path).name for p in result.problems} == {"zz-broken.yaml", "zz-kind.yaml"}
    ids = [c.id for c in result.curriculum.courses]
    assert "llm-study" in ids and "bad-kind" in ids and "bad-syntax" not in ids
    # a bad field is dropped, the item itself stays
    assert result.curriculum.items_by_key["bad-kind/a"].kind == "topic"


def test_dangling_references_are_dropped_from_the_model(tmp_path):
    shutil.copytree(VALID, tmp_path / "cur")
    for name in ("unknown_term.yaml", "unknown_prerequisite.yaml", "prerequisite_cycle.yaml"):
        shutil.copy(BAD / name, tmp_path / "cur" / name)
    cur = load_curriculum([tmp_path / "cur"], known_labs=LABS).curriculum
    assert cur.items_by_key["bad-term/a"].terms == ()
    assert cur.items_by_key["bad-prereq/a"].prerequisites == ()
    # the reference that closed the cycle is cut, so nothing downstream can loop
    graph = {k: it.prerequisites for k, it in cur.items_by_key.items()}
    assert _acyclic(graph)


def _acyclic(graph: dict[str, tuple[str, ...]]) -> bool:
    done: set[str] = set()

    def visit(key: str, path: tuple[str, ...]) -> bool:
        if key in path:
            return False
        if key in done:
            return True
        ok = all(visit(n, path + (key,)) for n in graph.get(key, ()))
        done.add(key)
        return ok

    return all(visit(k, ()) for k in graph)


def test_known_labs_none_skips_the_lab_check():
    assert validate_paths([BAD / "unknown_lab.yaml"], context_dirs=[VALID]) == []


def test_validate_paths_reports_every_error_of_a_file(tmp_path):
    f = tmp_path / "many.yaml"
    f.write_text(
        "id: many\n"
        "title: Many errors\n"
        "colour: blue\n"  # 3 unknown key
        "sections:\n"
        "  - id: s\n"
        "    title: S\n"
        "    items:\n"
        "      - id: a\n"
        "        title: A\n"
        "        kind: vid\n"  # 10 unknown kind
        "        duration: soon\n"  # 11 unreadable duration
        "        url: www.example.com\n"  # 12 not http(s)
        "      - id: A\n"  # 13 not a slug
        "        title: B\n"
        "      - id: c\n"
        "        title: C\n"
        "        terms: [nope]\n"  # 17 unknown term
        "        prerequisites: [zzz]\n",  # 18 unknown prerequisite
        encoding="utf-8",
    )
    problems = validate_paths([f], context_dirs=[VALID], known_labs=LABS)
    assert [p.line for p in problems] == [3, 10, 11, 12, 13, 17, 18]
    assert all(str(p).startswith(f"{f}:{p.line}:{p.col}: ") for p in problems)


def test_validate_paths_reports_only_the_given_paths_and_missing_ones(tmp_path):
    missing = tmp_path / "nope.yaml"
    problems = validate_paths([BAD / "unknown_term.yaml", missing], context_dirs=[VALID, BAD])
    assert {p.path for p in problems} == {str(BAD / "unknown_term.yaml"), str(missing)}
    assert Problem(str(missing), 1, 1, "no such file or folder") in problems


def test_validate_a_context_folder_loads_it_once():
    # VALID is both the target and the context: loading it twice would report duplicate ids.
    assert validate_paths([VALID], context_dirs=[VALID], known_labs=LABS) == []


def test_validate_a_file_inside_a_context_folder_loads_it_once():
    assert validate_paths([VALID / "gpt2.yaml"], context_dirs=[VALID], known_labs=LABS) == []


def test_missing_folder_is_a_problem_not_an_exception(tmp_path):
    result = load_curriculum([tmp_path / "absent", VALID])
    assert [p.message for p in result.problems] == ["no such folder"]
    assert result.curriculum.course("gpt2") is not None


def test_extra_files_and_yml_suffix(tmp_path):
    extra = tmp_path / "extra.yml"
    extra.write_text(
        "id: extra\ntitle: Extra\nsections:\n  - id: s\n    title: S\n    items:\n"
        "      - {id: x, title: X, prerequisites: [gpt2/reproduce]}\n",
        encoding="utf-8",
    )
    result = load_curriculum([VALID], extra_files=[extra], known_labs=LABS)
    assert result.problems == []
    assert result.curriculum.items_by_key["extra/x"].prerequisites == ("gpt2/reproduce",)


def test_generated_curriculum_loads_cleanly(tmp_path):
    generate_curriculum(tmp_path, 500, n_courses=3)
    result = load_curriculum([tmp_path], known_labs=LABS)
    assert result.problems == []
    items = list(result.curriculum.items())
    assert len(items) == 500
    assert any(i.children for i in items) and any(i.prerequisites for i in items)
    assert len({i.course_id for i in items}) == 3


def test_cache_is_reused_and_invalidated_by_edits(tmp_path, monkeypatch):
    from studytui.curriculum import loader

    cur_dir = tmp_path / "cur"
    shutil.copytree(VALID, cur_dir)
    cache = tmp_path / "cache"
    first = load_curriculum([cur_dir], known_labs=LABS, cache_dir=cache)
    assert (cache / "curriculum.json").is_file()

    # A warm start must not parse the YAML at all: with the parser broken, it still loads.
    real_load = loader._load
    monkeypatch.setattr(loader, "_load", lambda *a, **k: pytest.fail("cache not used"))
    again = load_curriculum([cur_dir], known_labs=LABS, cache_dir=cache)
    assert again.curriculum.items_by_key == first.curriculum.items_by_key and again.problems == []
    assert again.curriculum.terms == first.curriculum.terms
    assert again.curriculum.courses == first.curriculum.courses

    # An edit is a miss: the YAML is parsed again and the new title shows.
    calls = []
    monkeypatch.setattr(loader, "_load", lambda *a, **k: calls.append(1) or real_load(*a, **k))
    course = cur_dir / "gpt2.yaml"
    course.write_text(
        course.read_text(encoding="utf-8").replace("Let's reproduce GPT-2 (124M)", "Reproduce"),
        encoding="utf-8",
    )
    edited = load_curriculum([cur_dir], known_labs=LABS, cache_dir=cache)
    assert calls == [1]
    assert edited.curriculum.items_by_key["gpt2/reproduce"].title == "Reproduce"
    # other lab names are another key: the lab check runs again
    assert load_curriculum([cur_dir], known_labs={"gpt"}, cache_dir=cache).problems
    assert len(calls) == 2


def test_cache_keeps_problems_and_every_field(tmp_path):
    cache = tmp_path / "cache"
    cold = load_curriculum([BAD], known_labs=LABS, cache_dir=cache)
    warm = load_curriculum([BAD], known_labs=LABS, cache_dir=cache)
    assert cold.problems and warm.problems == cold.problems
    assert warm.curriculum.items_by_key == cold.curriculum.items_by_key
    assert warm.curriculum.taught_by == cold.curriculum.taught_by


def test_a_planted_pickle_in_the_cache_never_runs(tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    cache = tmp_path / "cache"
    cache.mkdir()
    for name in ("curriculum.json", "curriculum.pickle"):
        (cache / name).write_bytes(pickle.dumps(Payload()))
    result = load_curriculum([VALID], known_labs=LABS, cache_dir=cache)
    assert result.problems == [] and result.curriculum.course("gpt2") is not None
    assert not marker.exists()


def test_a_corrupt_cache_means_a_cold_load(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "curriculum.json").write_bytes(b"{not json")
    result = load_curriculum([VALID], known_labs=LABS, cache_dir=cache)
    assert result.problems == [] and result.curriculum.course("gpt2") is not None
    (cache / "curriculum.json").write_text(
        '{"format": "studytui-curriculum-cache", "version": 1, "key": null, "courses": 5}', encoding="utf-8"
    )
    assert load_curriculum([VALID], known_labs=LABS, cache_dir=cache).curriculum.course("gpt2")


def test_unreadable_files_in_a_folder_are_reported_not_skipped(tmp_path):
    import os

    folder = tmp_path / "cur"
    shutil.copytree(VALID, folder)
    (folder / "dangling.yaml").symlink_to(tmp_path / "nowhere.yaml")
    os.mkfifo(folder / "pipe.yaml")
    (folder / "folder.yaml").mkdir()  # a folder named like a file is not a course
    problems = {(Path(p.path).name, p.message) for p in validate_paths([folder], known_labs=LABS)}
    assert ("dangling.yaml", "cannot read file: No such file or directory") in problems
    assert ("pipe.yaml", "not a regular file") in problems
    assert not any(name == "folder.yaml" for name, _ in problems)
    assert load_curriculum([folder], known_labs=LABS).curriculum.course("gpt2") is not None


def test_text_with_control_characters_is_a_problem_at_its_position(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        'id: c\ntitle: "ok"\nsections:\n  - id: s\n    title: S\n    items:\n'
        '      - id: a\n        title: "A \\e]0;t\\a"\n'
        '      - id: b\n        title: B\n        summary: "line one\\nline two\\ttabbed"\n'
        '        tags: ["ok", "bidi \\u202e"]\n        url: "https://x.example/ a"\n',
        encoding="utf-8",
    )
    problems = [str(p).split(":", 1)[1] for p in validate_paths([path])]
    assert problems == [
        "8:16: title contains a control character U+001B ESCAPE at offset 2 (and 1 more)",
        "12:22: tags: an entry contains a control character U+202E RIGHT-TO-LEFT OVERRIDE at offset 5",
        "13:14: url must be an http(s) URL without spaces, got 'https://x.example/ a'",
    ]
    items = load_curriculum([], extra_files=[path]).curriculum.items_by_key
    assert set(items) == {"c/b"} and items["c/b"].summary == "line one\nline two\ttabbed"
    assert items["c/b"].tags == ("ok",) and items["c/b"].url is None


def test_the_cache_keeps_every_field_of_every_object(tmp_path):
    from studytui.curriculum import cache
    from studytui.curriculum.model import Course, Curriculum, Item, Link, Section, Term

    child = Item(
        course_id="c",
        id="kid",
        title="Kid",
        kind="video",
        duration_s=60,
        parent_key="c/full",
        section_id="s",
        source="c.yaml:9",
    )
    full = Item(
        course_id="c",
        id="full",
        title="Full ✅",
        kind="playlist",
        url="https://e.org/x",
        links=(Link("code", "https://e.org/code"),),
        duration_s=3600,
        summary="two\nlines",
        tags=("a", "b"),
        terms=("t",),
        lab="gpt",
        prerequisites=("c/other",),
        date="2017-06",
        by="someone",
        data={"n": 1, "f": 0.5, "l": [True, None, "x"]},
        children=(child,),
        section_id="s",
        source="c.yaml:3",
    )
    other = Item(course_id="c", id="other", title="Other", section_id="s", source="c.yaml:20")
    course = Course(
        id="c",
        title="C",
        summary="sum",
        order=3,
        source="seed",
        tags=("x",),
        sections=(Section("s", "S", "ss", (full, other)),),
        path="c.yaml",
    )
    term = Term(
        id="t",
        term="T",
        definition="d",
        aliases=("tt",),
        links=(Link("l", "https://e.org"),),
        see_also=("u",),
        source="g.yaml:1",
    )
    original = Curriculum.build([course], [term])
    problems = [Problem("c.yaml", 1, 2, "a problem")]
    cache.write(tmp_path, ["key"], original, problems)
    curriculum, stored = cache.read(tmp_path, ["key"])
    assert curriculum == original and [Problem(*p) for p in stored] == problems
    assert cache.read(tmp_path, ["another key"]) is None
