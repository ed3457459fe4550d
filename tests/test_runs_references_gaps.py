"""Reference runs as data, rule by rule: what `parse_reference` accepts and refuses (each
refusal one line naming the file), what a reference made from a run folder holds, how a
reference is matched to a run, read at a step and drawn, and the curriculum's ladder figures.

Run folders are written here event by event (no lab process, no torch); references are
parsed straight from files, not through `load_references`' cache, so each rule is exercised
every time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studytui.curriculum.model import Course, Curriculum, Item, Section
from studytui.runs.reference import LadderReference, ladder_reference
from studytui.runs.references import (
    REFERENCES_DIR,
    Reference,
    ReferenceError,
    load_references,
    parse_reference,
    reference_curve,
    reference_curve_metric,
    reference_dirs,
    reference_for_run,
    reference_from_run,
    settings_differ,
)
from tests.test_runs_report import write_run

MINIMAL = {"name": "mini", "lab": "fake", "metric": "val_loss", "source": "a test"}


def ref_file(tmp_path: Path, doc, name: str = "ref.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def refused(path: Path) -> str:
    with pytest.raises(ReferenceError) as e:
        parse_reference(path)
    return str(e.value)


def ref(points=(), metric="val_loss", **kw) -> Reference:
    return Reference(
        name="r", title="r", lab="fake", metric=metric, source="test", points=tuple(points), **kw
    )


# -- parse_reference: what is refused, in one line naming the file ------------------------------


@pytest.mark.parametrize(
    "text", ["[1, 2]", "not json {", '"a string"', "{}"], ids=["list", "broken", "string", "empty"]
)
def test_a_file_that_is_not_a_json_object_is_refused(tmp_path, text):
    path = ref_file(tmp_path, text)
    assert refused(path) == f"{path}: not a JSON object"


def test_a_missing_file_is_refused_as_not_an_object(tmp_path):
    path = tmp_path / "nowhere.json"
    assert refused(path) == f"{path}: not a JSON object"


@pytest.mark.parametrize("key", ["name", "lab", "metric", "source"])
@pytest.mark.parametrize("value", ["", 5, None, ["x"]], ids=["empty", "number", "null", "list"])
def test_each_required_key_must_be_a_non_empty_string(tmp_path, key, value):
    path = ref_file(tmp_path, {**MINIMAL, key: value})
    assert refused(path) == f"{path}: missing {key!r}"


@pytest.mark.parametrize("key", ["name", "lab", "metric", "source"])
def test_each_required_key_must_be_there(tmp_path, key):
    doc = {k: v for k, v in MINIMAL.items() if k != key}
    path = ref_file(tmp_path, doc)
    assert refused(path) == f"{path}: missing {key!r}"


@pytest.mark.parametrize(
    "points",
    [{}, "", {"step": 1}, [1], [{"step": 1}, "x"], 5],
    ids=["empty-object", "empty-string", "object", "number-in-list", "string-in-list", "number"],
)
def test_points_must_be_a_list_of_objects(tmp_path, points):
    path = ref_file(tmp_path, {**MINIMAL, "points": points})
    assert refused(path) == f"{path}: 'points' must be a list of objects"


# -- parse_reference: what is read, and the defaults --------------------------------------------


FULL = {
    "name": "full",
    "title": "A full reference",
    "lab": "fake",
    "metric": "val_loss",
    "source": "somewhere",
    "match": {"flavour": "gpt"},
    "settings": {"steps": 20},
    "device": "cuda",
    "statistic": "best",
    "tokens_per_step": 100,
    "tok_per_s": 1010.5,
    "points": [{"step": 0, "val_loss": 4.6}, {"step": 20, "val_loss": 2.07}],
    "rungs": [{"rung": "fp32", "speedup_fp32": 1.0}, "junk"],
    "published": "the paper",
    "published_points": [{"step": 20, "val_loss": 1.88}, "junk", 3],
}


def test_every_field_is_read(tmp_path):
    path = ref_file(tmp_path, FULL)
    assert parse_reference(path) == Reference(
        name="full",
        title="A full reference",
        lab="fake",
        metric="val_loss",
        source="somewhere",
        match={"flavour": "gpt"},
        settings={"steps": 20},
        device="cuda",
        statistic="best",
        points=({"step": 0, "val_loss": 4.6}, {"step": 20, "val_loss": 2.07}),
        tokens_per_step=100,
        tok_per_s=1010.5,
        rungs=({"rung": "fp32", "speedup_fp32": 1.0},),
        published="the paper",
        published_points=({"step": 20, "val_loss": 1.88},),
        path=path,
    )


def test_the_defaults_of_a_minimal_reference(tmp_path):
    path = ref_file(tmp_path, MINIMAL)
    r = parse_reference(path)
    assert (r.name, r.title, r.lab, r.metric, r.source) == ("mini", "mini", "fake", "val_loss", "a test")
    assert r.match == {} and r.settings == {} and r.device == "" and r.statistic == "final"
    assert r.points == () and r.tokens_per_step is None and r.tok_per_s is None
    assert r.rungs == () and r.published is None and r.published_points == ()
    assert r.path == path and isinstance(r.path, Path)


def test_a_path_given_as_a_string_comes_back_as_a_path(tmp_path):
    path = ref_file(tmp_path, MINIMAL)
    assert parse_reference(str(path)).path == path


def test_fields_of_the_wrong_kind_fall_back_to_their_defaults(tmp_path):
    doc = {
        **MINIMAL,
        "title": "",
        "match": ["flavour"],
        "settings": "steps=20",
        "device": None,
        "statistic": "mean",
        "tokens_per_step": "100",
        "tok_per_s": "fast",
        "rungs": {"rung": "fp32"},
        "published": 1.88,
        "published_points": None,
    }
    r = parse_reference(ref_file(tmp_path, doc))
    assert r.title == "mini" and r.match == {} and r.settings == {} and r.device == ""
    assert r.statistic == "final" and r.tokens_per_step is None and r.tok_per_s is None
    assert r.rungs == () and r.published is None and r.published_points == ()


def test_a_float_tokens_per_step_is_not_a_count(tmp_path):
    assert parse_reference(ref_file(tmp_path, {**MINIMAL, "tokens_per_step": 12.5})).tokens_per_step is None


def test_statistic_is_best_only_when_it_says_best(tmp_path):
    for written, read in (("best", "best"), ("final", "final"), ("BEST", "final"), (None, "final")):
        r = parse_reference(ref_file(tmp_path, {**MINIMAL, "statistic": written}))
        assert r.statistic == read, written


def test_an_integer_tok_per_s_is_read_as_a_number(tmp_path):
    r = parse_reference(ref_file(tmp_path, {**MINIMAL, "tok_per_s": 900}))
    assert r.tok_per_s == 900.0 and isinstance(r.tok_per_s, float)


# -- Reference.to_json (what `lab show --json` prints) ------------------------------------------


def test_to_json_names_every_field_it_shows():
    points = ({"step": 0, "val_loss": 4.0}, {"step": 10, "val_loss": 2.0})
    r = Reference(
        name="n",
        title="T",
        lab="fake",
        metric="val_loss",
        source="s",
        device="cpu",
        statistic="best",
        points=points,
    )
    doc = r.to_json()
    assert doc == {
        "name": "n",
        "title": "T",
        "lab": "fake",
        "metric": "val_loss",
        "statistic": "best",
        "device": "cpu",
        "source": "s",
        "end_point_only": False,
        "points": [{"step": 0, "val_loss": 4.0}, {"step": 10, "val_loss": 2.0}],
    }
    doc["points"][0]["val_loss"] = 9.0  # a copy: the reference itself is not changed
    assert r.points[0]["val_loss"] == 4.0
    assert ref([{"step": None, "val_loss": 1.88}]).to_json()["end_point_only"] is True


# -- Reference: its curve, end point and value at a step -----------------------------------------


def test_curve_keeps_stepped_points_with_a_number_sorted_by_step():
    r = ref(
        [
            {"step": 10, "val_loss": 2.0, "loss": 1.9},
            {"step": 0, "val_loss": 4.0, "loss": 3.9},
            {"step": 5, "loss": 3.0},  # no val_loss here
            {"step": 7, "val_loss": True},  # a bool is not a metric
            {"step": None, "val_loss": 1.88},  # "at the end": no step to draw it at
            {"val_loss": 1.5},
        ]
    )
    assert r.curve() == [(0, 4.0), (10, 2.0)]
    assert r.curve("loss") == [(0, 3.9), (5, 3.0), (10, 1.9)]
    assert r.curve("tokens") == []
    assert r.end_point == (None, 1.5)


def test_end_point_takes_the_last_point_with_a_value():
    r = ref([{"step": 0, "val_loss": 4.0}, {"step": 20, "val_loss": 2.0}, {"step": 30, "loss": 1.0}])
    assert r.end_point == (20, 2.0) and not r.end_point_only
    assert ref([{"step": 3, "loss": 1.0}]).end_point is None
    assert ref([{"step": 3, "val_loss": 2.5}]).end_point_only


THREE = [{"step": 10, "val_loss": 0.7}, {"step": 20, "val_loss": 0.1}, {"step": 40, "val_loss": 0.5}]


def test_value_at_is_exact_at_the_reference_s_own_steps():
    r = ref(THREE)
    assert [r.value_at(s) for s in (10, 20, 40)] == [0.7, 0.1, 0.5]


def test_value_at_interpolates_between_points():
    r = ref(THREE)
    assert r.value_at(15) == pytest.approx(0.4)
    assert r.value_at(12) == pytest.approx(0.58)
    assert r.value_at(30) == pytest.approx(0.3)
    assert r.value_at(35) == pytest.approx(0.4)


def test_value_at_is_none_outside_the_curve():
    r = ref(THREE)
    assert r.value_at(9) is None and r.value_at(41) is None and r.value_at(0) is None


def test_value_at_with_two_points():
    r = ref([{"step": 100, "val_loss": 3.0}, {"step": 200, "val_loss": 1.0}])
    assert r.value_at(150) == pytest.approx(2.0) and r.value_at(100) == 3.0 and r.value_at(200) == 1.0


def test_value_at_with_one_point_or_none():
    one = ref([{"step": 50, "val_loss": 2.5}])
    assert one.value_at(50) == 2.5 and one.value_at(49) is None and one.value_at(51) is None
    assert ref([{"step": None, "val_loss": 1.88}]).value_at(0) is None
    assert ref().value_at(0) is None


def test_rung_speedup_reads_the_named_rung():
    r = ref(rungs=({"rung": "fp32", "speedup_fp32": 1.0}, {"rung": "bf16", "speedup_fp32": 3}))
    assert r.rung_speedup("bf16") == 3.0 and r.rung_speedup("fp32") == 1.0 and r.rung_speedup("x") is None


# -- matching a reference to a run --------------------------------------------------------------


def one_key(**kw) -> Reference:
    return Reference(name="one", title="one", lab="zz-lab", metric="loss", source="s", match={"a": 1}, **kw)


def two_keys() -> Reference:
    return Reference(name="two", title="two", lab="zz-lab", metric="loss", source="s", match={"a": 1, "b": 2})


def test_the_reference_agreeing_on_most_keys_wins():
    refs = [one_key(), two_keys()]
    assert reference_for_run("zz-lab", {"a": 1, "b": 2}, refs).name == "two"
    assert reference_for_run("zz-lab", {"a": 1, "b": 3}, refs).name == "one"  # "two" disagrees on b
    assert reference_for_run("zz-lab", {"a": 1, "b": 2}, list(reversed(refs))).name == "two"


def test_a_tie_goes_to_the_first_listed():
    first, second = one_key(device="first"), one_key(device="second")
    assert reference_for_run("zz-lab", {"a": 1}, [first, second]) is first


def test_another_lab_or_a_disagreeing_key_is_no_match():
    refs = [one_key(), two_keys()]
    assert reference_for_run("other-lab", {"a": 1, "b": 2}, refs) is None
    assert reference_for_run("zz-lab", {"a": 2}, refs) is None
    assert reference_for_run("zz-lab", {}, refs) is None
    anything = Reference(name="any", title="any", lab="zz-lab", metric="loss", source="s")
    assert reference_for_run("zz-lab", {"a": 5}, [one_key(), anything]) is anything


def test_the_list_given_is_the_one_searched(lab_home):
    mine = Reference(name="mine", title="mine", lab="fake", metric="val_loss", source="s")
    assert reference_for_run("fake", {"flavour": "gpt"}, [mine]) is mine
    assert reference_for_run("fake", {"flavour": "gpt"}, []) is None
    assert reference_for_run("fake", {"flavour": "gpt"}).name == "fake-20-steps"  # the shipped files


def test_the_published_figure_a_run_carries_is_its_reference():
    carried = {"preset": "shakespeare", "source": "Karpathy's nanoGPT", "val_loss": 1.47, "loss": 1.2}
    r = reference_for_run("zz-lab", {"reference": carried}, [])
    assert r == Reference(
        name="shakespeare",
        title="Karpathy's nanoGPT",
        lab="zz-lab",
        metric="val_loss",
        source="Karpathy's nanoGPT",
        statistic="best",
        points=({"step": None, "val_loss": 1.47},),
    )


def test_a_carried_figure_without_a_name_or_source_is_named_after_the_lab():
    r = reference_for_run("zz-lab", {"reference": {"loss": 2.5}}, [])
    assert (r.name, r.title, r.lab, r.source) == ("zz-lab", "zz-lab", "zz-lab", "")
    assert r.metric == "loss" and r.statistic == "final" and r.points == ({"step": None, "loss": 2.5},)
    r = reference_for_run("zz-lab", {"reference": {"val_loss": "1.9", "figure": 0.9}}, [])
    assert r.metric == "figure" and r.statistic == "final" and r.points == ({"step": None, "figure": 0.9},)
    assert r.end_point == (None, 0.9)


def test_a_carried_reference_without_a_figure_is_none():
    assert reference_for_run("zz-lab", {"reference": {"preset": "p", "source": "s"}}, []) is None
    assert reference_for_run("zz-lab", {"reference": "nanoGPT"}, []) is None
    assert reference_for_run("zz-lab", {}, []) is None


def test_a_matching_shipped_reference_beats_the_carried_figure():
    assert reference_for_run("zz-lab", {"a": 1, "reference": {"loss": 2.5}}, [one_key()]).name == "one"


def test_settings_that_differ_come_from_the_run_and_from_the_reference():
    r = ref(settings={"steps": 20, "batch": 4, "block": 8, "lr": 0.1})
    resolved = {"steps": 10, "batch": 4, "lr": 0.2, "reference": {"differs": ["lr", 7]}}
    assert settings_differ(r, resolved) == ["lr", "7", "steps"]
    assert settings_differ(r, {"steps": 10, "batch": 5}) == ["steps", "batch"]
    assert settings_differ(r, {"steps": 20, "reference": "text"}) == []
    assert settings_differ(r, {"reference": {"differs": None}}) == []
    assert settings_differ(ref(), {"reference": {"differs": ["dropout"]}}) == ["dropout"]


# -- drawing a reference ------------------------------------------------------------------------


def test_reference_curve_draws_its_own_metric_by_default():
    r = ref([{"step": 0, "val_loss": 4.0, "loss": 3.5}, {"step": 10, "val_loss": 2.0, "loss": 1.5}])
    assert reference_curve(r) == ([0.0, 10.0], [4.0, 2.0])
    assert reference_curve(r, "loss") == ([0.0, 10.0], [3.5, 1.5])
    assert reference_curve(None) == ([], []) and reference_curve(None, "loss") == ([], [])
    assert reference_curve(ref([{"step": None, "val_loss": 1.88}])) == ([], [])


def test_a_figure_reference_is_drawn_as_its_val_loss_then_its_loss_curve():
    pts = [{"step": s, "val_loss": 5.0 - s, "loss": 6.0 - s} for s in (1, 2, 3)]
    pts[-1]["figure"] = 0.5  # the end summary's figure, at the last step only
    r = ref(pts, metric="figure")
    assert reference_curve_metric(r) == "val_loss"
    assert reference_curve(r) == ([1.0, 2.0, 3.0], [4.0, 3.0, 2.0])
    loss_only = ref([{"step": s, "loss": 6.0 - s} for s in (1, 2)], metric="figure")
    assert reference_curve_metric(loss_only) == "loss"


def test_a_two_point_curve_is_a_curve():
    pts = [{"step": 1, "val_loss": 3.0, "loss": 3.1}, {"step": 2, "val_loss": 2.0, "loss": 2.1}]
    pts.append({"step": 3, "loss": 1.1})
    assert reference_curve_metric(ref(pts, metric="figure")) == "val_loss"


def test_with_no_curve_the_metric_with_a_point_is_named():
    assert reference_curve_metric(ref([{"step": 10, "val_loss": 2.5}])) == "val_loss"
    assert reference_curve_metric(ref([{"step": 10, "figure": 0.5}], metric="figure")) == "figure"
    assert reference_curve_metric(ref([{"step": 10, "loss": 2.5}], metric="figure")) == "loss"
    assert reference_curve_metric(ref([{"step": None, "val_loss": 1.88}])) is None
    assert reference_curve_metric(ref()) is None
    assert reference_curve_metric(None) is None


# -- where references are found ----------------------------------------------------------------


def test_reference_files_are_read_from_each_labs_folder_and_bad_ones_skipped(tmp_path, monkeypatch):
    first, second = tmp_path / "one", tmp_path / "two"
    for root in (first, second):
        (root / REFERENCES_DIR).mkdir(parents=True)
    ref_file(first / REFERENCES_DIR, {**MINIMAL, "name": "zz-a", "device": "first"}, "a.json")
    ref_file(first / REFERENCES_DIR, "{ broken", "b.json")
    ref_file(second / REFERENCES_DIR, {**MINIMAL, "name": "zz-a", "device": "second"}, "a.json")
    ref_file(second / REFERENCES_DIR, {**MINIMAL, "name": "zz-c"}, "c.json")
    monkeypatch.setenv("STUDYTUI_LABS_PATH", f"{first}:{second}")
    assert reference_dirs()[-2:] == [first / REFERENCES_DIR, second / REFERENCES_DIR]
    found = {r.name: r for r in load_references()}
    assert found["zz-a"].device == "first"  # the first folder's wins
    assert found["zz-c"].path == second / REFERENCES_DIR / "c.json"
    assert "makemore-mlp" in found  # the installed labs' own references are still there


# -- a reference made from a run folder ---------------------------------------------------------


def step(s, loss, tok=None) -> dict:
    e = {"event": "step", "t": 100.0 + s, "step": s, "loss": loss}
    if tok is not None:
        e["tok_per_s"] = tok
    return e


def evalv(s, v) -> dict:
    return {"event": "eval", "t": 100.0 + s, "step": s, "val_loss": v}


def start(device="cpu") -> dict:
    return {"event": "start", "t": 100.0, "pid": 1, "device": device, "config": {}}


def end(summary=None) -> dict:
    return {"event": "end", "t": 900.0, "status": "done", "summary": summary or {}}


def run_dir(tmp_path: Path, events: list[dict]) -> Path:
    return write_run(tmp_path / "runs", "fake-20260101-000000-abcd", events)


def template(points=((None, 2.0),), metric="val_loss", **kw) -> Reference:
    defaults = {
        "name": "tmpl",
        "title": "The template",
        "lab": "fake",
        "source": "the paper",
        "device": "tpu",
    }
    return Reference(
        metric=metric, points=tuple({"step": s, metric: v} for s, v in points), **{**defaults, **kw}
    )


def test_a_run_s_loss_and_val_loss_become_rounded_points_with_tokens(tmp_path):
    events = [start(), step(1, 3.123456), step(2, 2.5), evalv(2, 2.987654), step(3, 2.0), end()]
    doc = reference_from_run(run_dir(tmp_path, events), template(tokens_per_step=10))
    assert doc["points"] == [
        {"step": 1, "loss": 3.1235, "tokens": 10},
        {"step": 2, "loss": 2.5, "tokens": 20, "val_loss": 2.9877},
        {"step": 3, "loss": 2.0, "tokens": 30},
    ]
    assert doc["tokens_per_step"] == 10


def test_without_tokens_per_step_points_have_no_tokens(tmp_path):
    doc = reference_from_run(run_dir(tmp_path, [start(), step(1, 3.0), end()]), template())
    assert doc["points"] == [{"step": 1, "loss": 3.0}] and doc["tokens_per_step"] is None


def test_the_document_keeps_the_template_s_description(tmp_path):
    t = template(
        match={"flavour": "gpt"}, settings={"steps": 3}, statistic="best", published="Karpathy, 2023"
    )
    doc = reference_from_run(run_dir(tmp_path, [start("cuda"), step(1, 3.0), end()]), t)
    assert doc["name"] == "tmpl" and doc["title"] == "The template" and doc["lab"] == "fake"
    assert doc["metric"] == "val_loss" and doc["statistic"] == "best" and doc["device"] == "cuda"
    assert doc["match"] == {"flavour": "gpt"} and doc["settings"] == {"steps": 3}
    assert doc["published"] == "Karpathy, 2023"
    assert doc["source"] == (
        "this lab, run with the reference's settings and the lab's seeds "
        "(scripts/references.py regenerate tmpl); published: Karpathy, 2023"
    )
    assert "end_point_only" not in doc


def test_the_template_s_source_is_the_published_one_when_it_names_none(tmp_path):
    doc = reference_from_run(run_dir(tmp_path, [start(""), step(1, 3.0), end()]), template())
    assert doc["published"] == "the paper" and doc["source"].endswith("published: the paper")
    assert doc["device"] == "tpu"  # the run did not say: the template's


def test_the_document_parses_back_as_a_reference(tmp_path):
    events = [start(), step(1, 3.0), evalv(1, 3.1), step(2, 2.0), evalv(2, 2.1), end()]
    doc = reference_from_run(run_dir(tmp_path, events), template(tokens_per_step=4, match={"a": 1}))
    r = parse_reference(ref_file(tmp_path, doc, "made.json"))
    assert r.curve() == [(1, 3.1), (2, 2.1)] and r.curve("loss") == [(1, 3.0), (2, 2.0)]
    assert r.match == {"a": 1} and r.tokens_per_step == 4 and r.published == "the paper"
    assert r.published_points == ({"step": None, "val_loss": 2.0},)


def test_tok_per_s_is_the_median_rounded_to_a_tenth(tmp_path):
    toks = [500.04, 100.25, 300.1234, 200.5, 400.75]
    events = [start()] + [step(s, 1.0, tok) for s, tok in enumerate(toks, start=1)] + [end()]
    doc = reference_from_run(run_dir(tmp_path, events), template())
    assert doc["tok_per_s"] == 300.1


def test_tok_per_s_is_none_when_the_run_never_measured_it(tmp_path):
    doc = reference_from_run(run_dir(tmp_path, [start(), step(1, 3.0), end()]), template())
    assert doc["tok_per_s"] is None


def test_a_long_curve_is_thinned_but_keeps_its_last_step(tmp_path):
    events = [start()] + [step(s, 10.0 - s / 100) for s in range(1, 102)] + [end()]
    doc = reference_from_run(run_dir(tmp_path, events), template())
    steps = [p["step"] for p in doc["points"]]
    assert steps == list(range(1, 101, 3)) + [101]


def test_val_points_are_all_kept_while_the_loss_curve_is_thinned(tmp_path):
    events = [start()]
    for s in range(1, 121):
        events.append(step(s, 5.0))
        if s % 5 == 0:
            events.append(evalv(s, 4.0))
    doc = reference_from_run(run_dir(tmp_path, events + [end()]), template())
    val_steps = [p["step"] for p in doc["points"] if "val_loss" in p]
    assert val_steps == list(range(5, 121, 5))
    assert len(doc["points"]) == 24 + 48


def test_the_end_figure_lands_on_the_last_step(tmp_path):
    events = [start(), step(1, 3.0), step(2, 2.0), end({"figure": 1.23})]
    doc = reference_from_run(run_dir(tmp_path, events), template(metric="figure"))
    assert doc["points"][-1] == {"step": 2, "loss": 2.0, "figure": 1.23}
    assert len(doc["points"]) == 2


def test_the_end_figure_of_a_run_without_a_curve_is_its_one_point(tmp_path):
    events = [start(), {"event": "step", "t": 101.0, "step": 7}, end({"figure": 0.9})]
    doc = reference_from_run(run_dir(tmp_path, events), template(metric="figure"))
    assert doc["points"] == [{"step": 7, "figure": 0.9}]


def test_an_end_figure_after_the_last_curve_point_is_a_point_of_its_own(tmp_path):
    events = [start(), step(1, 3.0), step(2, 2.0), evalv(5, 1.5), end({"figure": 1.1})]
    doc = reference_from_run(run_dir(tmp_path, events), template(metric="figure"))
    assert doc["points"][-2:] == [{"step": 5, "val_loss": 1.5}, {"step": 2, "figure": 1.1}]


def test_no_figure_in_the_summary_adds_nothing(tmp_path):
    events = [start(), step(1, 3.0), step(2, 2.0), end({"other": 1.0})]
    doc = reference_from_run(run_dir(tmp_path, events), template(metric="figure"))
    assert doc["points"] == [{"step": 1, "loss": 3.0}, {"step": 2, "loss": 2.0}]


@pytest.mark.parametrize("metric", ["loss", "val_loss"])
def test_a_loss_reference_keeps_its_curve_s_value_not_the_summary_s(tmp_path, metric):
    events = [start(), step(1, 3.0), evalv(1, 3.5), step(2, 2.0), evalv(2, 2.5)]
    events.append(end({"loss": 9.99, "val_loss": 9.99}))
    doc = reference_from_run(run_dir(tmp_path, events), template(metric=metric))
    assert doc["points"][-1] == {"step": 2, "loss": 2.0, "val_loss": 2.5}


def test_an_end_point_template_keeps_its_point_as_the_published_one(tmp_path):
    doc = reference_from_run(
        run_dir(tmp_path, [start(), step(1, 3.0), end()]), template(points=[(2000, 1.88)])
    )
    assert doc["published_points"] == [{"step": 2000, "val_loss": 1.88}]


def test_a_template_s_own_published_points_are_kept(tmp_path):
    published = ({"step": 2000, "val_loss": 1.88},)
    for points in ([(None, 2.5)], [(0, 4.0), (10, 2.0)]):
        t = template(points=points, published_points=published)
        doc = reference_from_run(run_dir(tmp_path / str(len(points)), [start(), step(1, 3.0), end()]), t)
        assert doc["published_points"] == [{"step": 2000, "val_loss": 1.88}]


def test_a_curve_template_without_published_points_gets_none(tmp_path):
    d = run_dir(tmp_path, [start(), step(1, 3.0), end()])
    assert "published_points" not in reference_from_run(d, template(points=[(0, 4.0), (10, 2.0)]))
    assert "published_points" not in reference_from_run(d, template(points=[]))


# -- the curriculum's ladder figures -------------------------------------------------------------


def item(item_id: str, lab: str | None, data=None, title: str = "") -> Item:
    return Item(course_id="c", id=item_id, title=title or item_id, lab=lab, data=data)


def curriculum(*items: Item) -> Curriculum:
    return Curriculum.build(
        [Course(id="c", title="C", sections=(Section(id="s", title="S", items=items),))], []
    )


ROWS = [{"rung": "fp32", "tok_per_s": 1000.0}, {"rung": "tf32", "tok_per_s": 2500.0}]


def test_the_first_gpt_ladder_item_with_ladder_rows_is_the_reference():
    c = curriculum(
        item("other-lab", "gpt", {"ladder": [{"rung": "fp32", "tok_per_s": 1.0}]}),
        item("no-rows", "gpt-ladder", {"notes": "x"}),
        item("no-data", "gpt-ladder", None),
        item("rows-not-a-list", "gpt-ladder", {"ladder": "fp32 1000"}),
        item("ladder", "gpt-ladder", {"ladder": ROWS, "source": "seed notes"}, title="The ladder"),
        item("later", "gpt-ladder", {"ladder": [{"rung": "fp32", "tok_per_s": 5.0}]}),
    )
    r = ladder_reference(c)
    assert r == LadderReference("c/ladder", "seed notes", {"fp32": ROWS[0], "tf32": ROWS[1]})


def test_rows_without_a_rung_are_skipped_and_the_title_is_the_default_source():
    rows = [*ROWS, {"tok_per_s": 9.0}, "a rung", 3, {"rung": 4, "tok_per_s": 7.0}]
    r = ladder_reference(curriculum(item("ladder", "gpt-ladder", {"ladder": rows}, title="Speed-ups")))
    assert r.source == "Speed-ups" and list(r.rungs) == ["fp32", "tf32", "4"]


def test_no_ladder_item_is_no_reference():
    assert ladder_reference(curriculum(item("a", "gpt", {"ladder": ROWS}), item("b", None))) is None


def test_speedup_over_fp32():
    r = LadderReference("k", "s", {"fp32": {"tok_per_s": 1000.0}, "tf32": {"tok_per_s": 2500.0}, "x": {}})
    assert r.speedup_fp32("tf32") == 2.5 and r.speedup_fp32("fp32") == 1.0
    assert r.speedup_fp32("x") is None and r.speedup_fp32("missing") is None


def test_speedup_without_an_fp32_figure_is_none():
    assert LadderReference("k", "s", {"tf32": {"tok_per_s": 2500.0}}).speedup_fp32("tf32") is None
    zero = LadderReference("k", "s", {"fp32": {"tok_per_s": 0}, "tf32": {"tok_per_s": 2500.0}})
    assert zero.speedup_fp32("tf32") is None


# -- found while writing these tests -------------------------------------------------------------


def test_references_list_names_a_bad_reference_file(tmp_path, monkeypatch, capsys):
    import importlib.util

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("references_script", root / "scripts" / "references.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    (tmp_path / REFERENCES_DIR).mkdir()
    ref_file(tmp_path / REFERENCES_DIR, {**MINIMAL, "name": "zz-good"}, "good.json")
    ref_file(tmp_path / REFERENCES_DIR, {**MINIMAL, "lab": ""}, "zz-broken.json")
    monkeypatch.setenv("STUDYTUI_LABS_PATH", str(tmp_path))
    assert script.main(["list"]) == 1
    out = capsys.readouterr()
    assert "zz-good" in out.out  # the good one is listed ...
    assert (
        f"skipped: {tmp_path / REFERENCES_DIR / 'zz-broken.json'}: missing 'lab'" in out.err
    )  # ... the broken one named


def test_a_boolean_tokens_per_step_is_not_a_count(tmp_path):
    for not_a_count in (True, 0, -5, 2.5):
        ref = parse_reference(ref_file(tmp_path, {**MINIMAL, "tokens_per_step": not_a_count}))
        assert ref.tokens_per_step is None
