"""Study figures and look-ups a learner trusts: hours from logged time, unknown lengths,
copies of one resource, inherited labs, dead links, forgiving search, honest glossary
suggestions, and a reading list without duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from studytui.cli.main import app
from studytui.curriculum import cache
from studytui.curriculum.loader import load_curriculum, validate_paths
from studytui.curriculum.urls import _split_key, resource_key
from studytui.glossary import find_term, fuzzy_terms
from studytui.search import search
from studytui.store import DuplicateReading, Store
from studytui.study import also_in, course_summaries, effective_statuses, left_text, overall_tally, tally

COURSE_A = """\
id: alpha
title: Alpha
order: 1
sections:
  - id: s
    title: S
    items:
      - id: build-gpt
        title: "Let's build GPT: from scratch, in code, spelled out."
        kind: video
        url: https://www.youtube.com/watch?v=kCc8FmEb1nY&list=PLAqhIrjkx&index=7
        duration: 2h
        terms: [rope]
      - id: ladder
        title: The speed-up ladder
        kind: topic
        lab: gpt-ladder
        items:
          - id: rung-tf32
            title: TF32
            kind: exercise
          - id: rung-other
            title: Another lab
            kind: exercise
            lab: gpt
      - id: pwc
        title: A Papers with Code page
        kind: paper
        url: https://paperswithcode.com/paper/x
        dead: 2025
        links:
          - {title: mirror, url: "https://example.org/mirror", dead: true}
          - {title: live, url: "https://example.org/live"}
"""

COURSE_B = """\
id: beta
title: Beta
order: 2
sections:
  - id: s
    title: S
    items:
      - id: gpt-video
        title: Let's build GPT
        kind: video
        url: https://youtu.be/kCc8FmEb1nY?si=share
        duration: 2h
      - id: unknown-length
        title: A post of unknown length
        kind: post
        url: https://example.org/post
"""

GLOSSARY = """\
terms:
  - {id: rope, term: Rotary position embedding (RoPE), aliases: [RoPE], definition: Rotating query and key pairs by position.}
  - {id: rouge, term: ROUGE, definition: A summarization metric.}
  - {id: llm, term: Large language model (LLM), aliases: [LLM], definition: A big language model.}
  - {id: dense-retrieval, term: Dense vector retrieval, aliases: [semantic search, vector search], definition: Finding passages by embedding similarity.}
  - {id: flash-attention, term: FlashAttention, aliases: [FlashAttention-2, flash attention], definition: IO-aware exact attention.}
  - {id: perplexity, term: Perplexity, definition: exp of the mean negative log-likelihood.}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    cur = tmp_path / "cur"
    write(cur, "alpha.yaml", COURSE_A)
    write(cur, "beta.yaml", COURSE_B)
    write(cur, "glossary.yaml", GLOSSARY)
    return cur


@pytest.fixture
def cur(folder):
    result = load_curriculum([folder])
    assert result.problems == []
    return result.curriculum


@pytest.fixture
def cli(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYTUI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("STUDYTUI_CURRICULUM", raising=False)
    runner = CliRunner()

    def invoke(*args, code=0):
        result = runner.invoke(app, ["--no-builtin", "-c", str(folder), *args])
        assert result.exit_code == code, result.output
        return result

    return invoke


# -- 1. hours ------------------------------------------------------------------------------------


def test_hours_done_count_time_logged_on_an_item_of_unknown_length(cur):
    statuses = {"beta/unknown-length": "done"}
    post = [cur.items_by_key["beta/unknown-length"]]
    assert tally(post, statuses).seconds_done == 0  # no length, nothing logged
    logged = {"beta/unknown-length": 3 * 3600 + 20 * 60}
    assert tally(post, statuses, logged).seconds_done == 3 * 3600 + 20 * 60


def test_hours_left_are_unknown_not_zero_without_lengths(cur):
    post = [cur.items_by_key["beta/unknown-length"]]
    t = tally(post, {})
    assert (t.seconds_left, t.unknown_left, left_text(t)) == (0, 1, "unknown")
    assert left_text(tally(post, {"beta/unknown-length": "done"})) == "0m"  # nothing left is known
    both = tally([cur.items_by_key["beta/gpt-video"], *post], {})
    assert left_text(both) == "2h 00m+"  # at least two hours


def test_time_logged_shortens_what_is_left(cur):
    video = [cur.items_by_key["beta/gpt-video"]]
    t = tally(video, {"beta/gpt-video": "doing"}, {"beta/gpt-video": 30 * 60})
    assert (t.seconds_done, t.seconds_left) == (30 * 60, 90 * 60)
    done = tally(video, {"beta/gpt-video": "done"}, {"beta/gpt-video": 30 * 60})
    assert (done.seconds_done, done.seconds_left) == (2 * 3600, 0)  # its length, once done


def test_status_json_says_null_for_unknown_hours_and_counts_logged_time(cli, tmp_path):
    cli("mark", "beta/unknown-length", "done")
    cli("log", "beta/unknown-length", "3h20m")
    beta = json.loads(cli("status", "--json").stdout)["courses"][1]
    assert beta["hours_done"] == pytest.approx(10 / 3, abs=0.01)  # 3h20m studied
    assert beta["hours_left"] == 2.0 and beta["items_left_without_duration"] == 0
    cli("mark", "beta/gpt-video", "skipped")
    cli("mark", "beta/unknown-length", "todo")
    beta = json.loads(cli("status", "--json").stdout)["courses"][1]
    assert beta["hours_left"] is None and beta["items_left_without_duration"] == 1
    human = cli("status").stdout
    assert "unknown" in human and "0m left" not in human


def test_export_md_says_unknown_length(cli):
    text = cli("export", "--format", "md").stdout
    alpha = text[: text.index("# Beta")]
    assert "length 2h 00m, left 2h 00m+" in alpha  # the ladder's rungs have no length
    beta = text[text.index("# Beta") :]
    assert "length 2h 00m, left 2h 00m+" in beta


# -- 2. search ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["lets build gpt", "LET'S BUILD GPT!", "let’s build: gpt"])
def test_search_ignores_punctuation_and_case(cur, query):
    keys = [h.key for h in search(cur, query)]
    assert keys[:2] and set(keys[:2]) == {"alpha/build-gpt", "beta/gpt-video"}


def test_search_joins_and_splits_hyphenated_words(cur):
    assert [h.key for h in search(cur, "flashattention2")] == ["flash-attention"]
    assert "flash-attention" in [h.key for h in search(cur, "flash attention")]


# -- 3. glossary ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, unwanted",
    [
        ("ropes", "ROUGE"),
        ("beam search", "Dense vector retrieval"),
        ("vllm", "Large language model (LLM)"),
    ],
)
def test_glossary_never_suggests_an_unrelated_term(cur, query, unwanted):
    found, suggestions = find_term(cur, query)
    assert found is None and unwanted not in suggestions
    assert unwanted not in [t.term for t in fuzzy_terms(cur, query)]


def test_glossary_still_suggests_real_typos(cur):
    assert find_term(cur, "ropes") == (None, ["Rotary position embedding (RoPE)"])
    assert find_term(cur, "perplexety") == (None, ["Perplexity"])


def test_glossary_matches_names_without_spaces_and_hyphens(cur):
    found, _ = find_term(cur, "flash attention 2")
    assert found is not None and found.id == "flash-attention"
    assert [t.id for t in fuzzy_terms(cur, "flash attention 2")] == ["flash-attention"]


# -- 4. labs inherited ----------------------------------------------------------------------------


def test_children_inherit_their_parents_lab(cur, folder):
    rung, other = cur.items_by_key["alpha/rung-tf32"], cur.items_by_key["alpha/rung-other"]
    assert (rung.lab, rung.lab_inherited) == ("gpt-ladder", True)
    assert (other.lab, other.lab_inherited) == ("gpt", False)
    assert cur.items_by_key["alpha/ladder"].lab_inherited is False
    # an unknown lab is reported where it is written, once, not on every child
    bad = folder / "alpha.yaml"
    bad.write_text(COURSE_A.replace("lab: gpt-ladder", "lab: gpt-ladderr"))
    problems = validate_paths([bad], context_dirs=[folder], known_labs={"gpt", "gpt-ladder"})
    assert [p.message for p in problems if "unknown lab" in p.message] == [
        "unknown lab 'gpt-ladderr' (did you mean 'gpt-ladder'?)"
    ]


def test_next_shows_the_inherited_lab(cli):
    cli("mark", "alpha/build-gpt", "done")
    items = json.loads(cli("next", "-n", "9", "--json").stdout)["items"]
    rung = next(i for i in items if i["key"] == "alpha/rung-tf32")
    assert rung["lab"] == "gpt-ladder" and rung["lab_inherited"] is True
    assert "[lab: gpt-ladder]" in cli("next", "-n", "9").stdout


def test_the_cache_keeps_inherited_labs_and_dead_links(cur, tmp_path):
    cache.write(tmp_path, ["k"], cur, [])
    again, _ = cache.read(tmp_path, ["k"])
    assert again.items_by_key == cur.items_by_key
    assert again.items_by_key["alpha/pwc"].links[0].dead is True


# -- 5. reading list ------------------------------------------------------------------------------


def test_the_reading_list_refuses_a_url_it_holds(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    first = store.add_reading("https://Example.org/paper/", "A paper")
    with pytest.raises(DuplicateReading) as e:
        store.add_reading("http://www.example.org/paper#abstract", "Same paper")
    assert e.value.existing["id"] == first and f"#{first}" in str(e.value)
    assert len(store.reading()) == 1
    assert store.reading_with_url("https://example.org/paper?utm_source=x")["id"] == first
    assert store.reading_with_url("https://example.org/other") is None


def test_cli_add_refuses_a_duplicate_in_one_line(cli):
    cli("add", "https://example.org/a", "--title", "A")
    result = cli("add", "https://example.org/a/", code=1)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the reading list already holds")
    assert len(json.loads(cli("reading", "--json").stdout)["entries"]) == 1


# -- 6. copies ------------------------------------------------------------------------------------


def test_resource_keys_fold_spellings_of_one_resource():
    video = resource_key("https://www.youtube.com/watch?v=kCc8FmEb1nY")
    assert resource_key("https://youtu.be/kCc8FmEb1nY?si=abc") == video
    assert resource_key("http://youtube.com/watch?list=PL1&v=kCc8FmEb1nY&t=30s") == video
    assert resource_key("https://www.youtube.com/watch?v=other") != video
    assert resource_key("https://example.org/Path/") == resource_key("https://EXAMPLE.org/Path#x")
    assert resource_key("https://example.org/path") != resource_key("https://example.org/PATH")
    assert resource_key("https://example.org/?q=1&utm_source=a") == resource_key("https://example.org?q=1")


def test_copies_share_progress(cur):
    assert [i.key for i in also_in(cur, cur.items_by_key["alpha/build-gpt"])] == ["beta/gpt-video"]
    statuses = effective_statuses(cur, {"beta/gpt-video": "done"})
    assert statuses["alpha/build-gpt"] == "done"
    doing = effective_statuses(cur, {"beta/gpt-video": "doing", "alpha/build-gpt": "skipped"})
    assert doing["alpha/build-gpt"] == "skipped"  # an explicit skip stands against "doing"


def test_items_that_only_cite_a_page_are_not_copies(tmp_path):
    text = COURSE_B.replace(
        "unknown-length\n        title: A post of unknown length\n        kind: post",
        "unknown-length\n        title: A tip\n        kind: tip",
    ).replace("https://example.org/post", "https://youtu.be/kCc8FmEb1nY")
    write(tmp_path / "c", "beta.yaml", text)
    cur = load_curriculum([tmp_path / "c"]).curriculum
    assert cur.copies == {}


def test_hours_of_a_shared_resource_count_once_across_courses(cur):
    progress = {"alpha/build-gpt": "done"}
    logged = {"beta/gpt-video": 150 * 60}
    per_course = {s.course.id: s.tally for s in course_summaries(cur, progress, logged)}
    assert per_course["alpha"].seconds_done == 2 * 3600  # its length, being done
    assert per_course["beta"].seconds_done == 150 * 60  # a copy: done too, time logged here
    overall = overall_tally(cur, progress, logged)
    assert overall.seconds_total == 2 * 3600  # one video, not two
    assert overall.seconds_done == 150 * 60 and overall.total == 5  # 6 leaves, one copy


def test_show_says_also_in_and_marking_keeps_one_row(cli, tmp_path):
    cli("mark", "alpha/build-gpt", "done")
    shown = json.loads(cli("show", "beta/gpt-video", "--json").stdout)
    assert shown["status"] == "done" and shown["also_in"] == ["alpha/build-gpt"]
    assert "also in: Alpha (alpha/build-gpt)" in cli("show", "beta/gpt-video").stdout
    store = Store(tmp_path / "home" / "studytui.db")
    assert set(store.progress()) == {"alpha/build-gpt"}


# -- 7. dead links --------------------------------------------------------------------------------


def test_dead_links_are_read_and_shown(cur, cli):
    pwc = cur.items_by_key["alpha/pwc"]
    assert pwc.dead == 2025 and [link.dead for link in pwc.links] == [True, None]
    shown = cli("show", "alpha/pwc").stdout
    assert "dead link since 2025" in shown and shown.count("dead link") == 2
    assert json.loads(cli("show", "alpha/pwc", "--json").stdout)["dead"] == 2025
    md = cli("export", "--format", "md").stdout
    assert "⚠️ dead link since 2025" in md and "⚠️ dead link: mirror" in md
    assert "live" not in md


@pytest.mark.parametrize(
    "value, message",
    [
        ('"soon"', "dead must be a year such as 2025, or true, got string 'soon'"),
        ("1800", "dead: 1800 is not a year between 1990 and 2100"),
        ("[2025]", "dead must be a year such as 2025, or true, got list"),
    ],
)
def test_the_loader_checks_dead(tmp_path, value, message):
    path = write(tmp_path, "c.yaml", COURSE_B.replace("kind: post\n", f"kind: post\n        dead: {value}\n"))
    assert [p.message for p in validate_paths([path])] == [message]


def test_dead_needs_a_url(tmp_path):
    text = COURSE_B.replace("        url: https://example.org/post\n", "        dead: true\n")
    path = write(tmp_path, "c.yaml", text)
    problems = validate_paths([path])
    assert len(problems) == 1 and "has no url" in problems[0].message


def test_dead_false_is_alive(tmp_path):
    write(tmp_path / "c", "c.yaml", COURSE_B.replace("kind: post\n", "kind: post\n        dead: false\n"))
    result = load_curriculum([tmp_path / "c"])
    assert result.problems == [] and result.curriculum.items_by_key["beta/unknown-length"].dead is None


@settings(max_examples=100, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
    www=st.booleans(),
    host=st.from_regex(r"[a-zA-Z0-9-]{1,12}(\.[a-zA-Z]{2,6}){1,2}\.?", fullmatch=True),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    path=st.lists(st.from_regex(r"[A-Za-z0-9._~!$&'()*+,;=:-]{1,8}", fullmatch=True), max_size=4),
    slash=st.booleans(),
)
def test_the_fast_path_of_resource_key_agrees_with_urlsplit(scheme, www, host, port, path, slash):
    url = (
        f"{scheme}://{'www.' if www else ''}{host}{f':{port}' if port else ''}"
        + "".join("/" + p for p in path)
        + ("/" if slash else "")
    )
    assert resource_key(url) == _split_key(url)


def test_next_suggests_a_shared_resource_once(cur):
    from studytui.study import next_items

    fresh = [i.key for i in next_items(cur, {}, 9)]
    assert "alpha/build-gpt" in fresh and "beta/gpt-video" not in fresh  # the first copy stands
    doing = [i.key for i in next_items(cur, {"beta/gpt-video": "doing"}, 9)]
    assert doing[0] == "beta/gpt-video" and "alpha/build-gpt" not in doing  # the copy the learner marked
