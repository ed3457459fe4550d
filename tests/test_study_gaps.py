"""Study figures a learner reads off `status`, `next` and the TUI, pinned to exact values:
hours done and left per item, counts per status, what `next` suggests, how an item
reference resolves. Written to catch the bugs a mutation run (`make mutants`) showed the
rest of the suite would let through; curricula are built in memory, so each test is fast."""

from __future__ import annotations

from dataclasses import replace

import pytest

from studytui.curriculum.model import Course, Curriculum, Item, Section
from studytui.store.store import Progress
from studytui.study import (
    ResolveError,
    Tally,
    also_in,
    course_summaries,
    dead_text,
    effective_statuses,
    left_text,
    next_items,
    overall_tally,
    resolve_item,
    tally,
    total_text,
)

HOUR = 3600


def item(
    id: str,
    duration: int | None = None,
    *children: Item,
    course: str = "c",
    kind: str = "video",
    url: str | None = None,
    prerequisites: tuple[str, ...] = (),
) -> Item:
    node = Item(
        course_id=course,
        id=id,
        title=id.title(),
        kind=kind,
        url=url,
        duration_s=duration,
        prerequisites=prerequisites,
    )
    return replace(node, children=tuple(_adopt(c, node.key) for c in children))


def _adopt(child: Item, parent_key: str) -> Item:
    return replace(child, parent_key=parent_key)


def course(id: str, *items: Item) -> Course:
    items = tuple(_move(i, id, None) for i in items)
    return Course(id=id, title=id.title(), sections=(Section(id="s", title="S", items=items),))


def _move(node: Item, course_id: str, parent_key: str | None) -> Item:
    """`node` and its subtree as items of course `course_id`."""
    moved = replace(node, course_id=course_id, parent_key=parent_key)
    return replace(moved, children=tuple(_move(c, course_id, moved.key) for c in node.children))


def curriculum(*courses: Course) -> Curriculum:
    return Curriculum.build(list(courses), [])


def figures(
    top: Item,
    statuses: dict[str, str],
    logged: dict[str, int] | None = None,
    skip: frozenset[str] = frozenset(),
) -> tuple[int, int, int, int]:
    t = tally([top], statuses, logged or {}, skip=skip)
    return t.seconds_total, t.seconds_done, t.seconds_left, t.unknown_left


# ---- hours done and left, one item at a time ----------------------------------------


def test_an_unfinished_video_with_time_logged_has_the_rest_left():
    video = item("v", HOUR)
    assert figures(video, {}, {"c/v": 600}) == (HOUR, 600, HOUR - 600, 0)
    assert figures(video, {"c/v": "doing"}, {"c/v": 600}) == (HOUR, 600, HOUR - 600, 0)


def test_more_time_logged_than_a_video_lasts_leaves_nothing_left_not_negative():
    assert figures(item("v", HOUR), {}, {"c/v": HOUR + 5}) == (HOUR, HOUR + 5, 0, 0)


def test_a_done_video_counts_its_length_or_the_time_logged_whichever_is_more():
    assert figures(item("v", HOUR), {"c/v": "done"}, {"c/v": 600}) == (HOUR, HOUR, 0, 0)
    assert figures(item("v", HOUR), {"c/v": "done"}, {"c/v": 2 * HOUR}) == (HOUR, 2 * HOUR, 0, 0)
    assert figures(item("v", HOUR), {"c/v": "done"}) == (HOUR, HOUR, 0, 0)


def test_a_skipped_video_counts_only_the_time_logged_and_leaves_nothing():
    assert figures(item("v", HOUR), {"c/v": "skipped"}, {"c/v": 600}) == (HOUR, 600, 0, 0)
    assert figures(item("v", HOUR), {"c/v": "skipped"}) == (HOUR, 0, 0, 0)


def test_an_item_of_unknown_length_is_counted_as_unknown_left():
    assert figures(item("paper", kind="paper"), {}, {"c/paper": 300}) == (0, 300, 0, 1)
    assert figures(item("paper", kind="paper"), {"c/paper": "done"}, {"c/paper": 300}) == (0, 300, 0, 0)


def test_a_playlist_adds_up_its_videos_and_time_logged_on_the_playlist_itself():
    playlist = item("pl", None, item("a", 1000), item("b", 2000), kind="playlist")
    statuses = {"c/a": "done"}
    # a done (1000), b unfinished (2000); 500 s logged on the playlist is study of b
    assert figures(playlist, statuses, {"c/pl": 500}) == (3000, 1500, 1500, 0)
    assert figures(playlist, statuses, {"c/pl": 500, "c/b": 200}) == (3000, 1700, 1300, 0)
    # more logged on the playlist than is left: nothing left, never negative
    assert figures(playlist, statuses, {"c/pl": 5000}) == (3000, 6000, 0, 0)


def test_a_playlists_own_length_gives_way_to_its_videos_lengths():
    playlist = item("pl", 9 * HOUR, item("a", 1000), item("b", 2000), kind="playlist")
    assert figures(playlist, {}) == (3000, 0, 3000, 0)


def test_a_playlist_with_a_video_of_unknown_length_says_so():
    playlist = item("pl", None, item("a", 1000), item("b"), item("d"), kind="playlist")
    assert figures(playlist, {"c/d": "done"}) == (1000, 0, 1000, 1)


def test_a_book_whose_chapters_have_no_length_uses_its_own():
    book = item("book", 2 * HOUR, item("ch1", kind="topic"), item("ch2", kind="topic"), kind="book")
    # chapters unfinished: time logged on a chapter counts, the rest of the book is left
    assert figures(book, {"c/ch1": "done"}, {"c/ch2": 300}) == (2 * HOUR, 300, 2 * HOUR - 300, 0)
    assert figures(book, {}, {"c/book": 100, "c/ch2": 300}) == (2 * HOUR, 400, 2 * HOUR - 400, 0)
    # every chapter finished, one of them done: the book is done (its length counts)
    assert figures(book, {"c/ch1": "done", "c/ch2": "skipped"}, {"c/ch2": 300}) == (2 * HOUR, 2 * HOUR, 0, 0)
    # every chapter skipped: the book is skipped (only logged time counts)
    assert figures(book, {"c/ch1": "skipped", "c/ch2": "skipped"}, {"c/ch2": 300}) == (2 * HOUR, 300, 0, 0)
    # the book itself marked done, chapters unmarked
    assert figures(book, {"c/book": "done"}) == (2 * HOUR, 2 * HOUR, 0, 0)
    assert figures(book, {"c/book": "skipped"}, {"c/book": 60}) == (2 * HOUR, 60, 0, 0)


def test_a_book_of_unknown_length_counts_its_unfinished_chapters_as_unknown():
    book = item(
        "book",
        None,
        item("ch1", kind="topic"),
        item("ch2", kind="topic"),
        item("ch3", kind="topic"),
        kind="book",
    )
    assert figures(book, {"c/ch1": "done"}, {"c/ch1": 60}) == (0, 60, 0, 2)
    assert figures(book, {}) == (0, 0, 0, 3)


def test_a_skipped_key_counts_for_nothing_not_even_its_logged_time():
    assert figures(item("v", HOUR), {}, {"c/v": 60}, skip=frozenset({"c/v"})) == (0, 0, 0, 0)
    book = item("book", HOUR, item("ch1", kind="topic"), item("ch2", kind="topic"), kind="book")
    # the second chapter is a copy counted elsewhere: neither its time nor its status counts
    assert figures(book, {"c/ch1": "done"}, {"c/ch2": 300}, skip=frozenset({"c/ch2"})) == (HOUR, HOUR, 0, 0)


# ---- counts and sums over a group ---------------------------------------------------


def test_tally_counts_each_status_and_sums_hours_over_several_items():
    items = [
        item("a", 1000),
        item("b", 2000),
        item("c", None, kind="paper"),
        item("d", 4000),
        item("e", None, kind="paper"),
        item("f", 8000),
    ]
    statuses = {"c/a": "done", "c/b": "doing", "c/c": "skipped", "c/d": "doing"}
    t = tally(items, statuses, {"c/b": 100, "c/c": 10, "c/d": 1000})
    assert t == Tally(
        done=1,
        skipped=1,
        doing=2,
        total=6,
        seconds_total=15000,
        seconds_done=1000 + 100 + 10 + 1000,
        seconds_left=1900 + 3000 + 8000,
        unknown_left=1,
    )
    assert t.finished == 2
    assert t.percent == pytest.approx(100 * 1 / 5)


def test_tally_sums_unknown_lengths_over_items_and_leaves_out_skipped_keys():
    items = [
        item("p", None, kind="paper"),
        item("q", None, kind="paper"),
        item("pl", None, item("x", 60), item("y"), kind="playlist"),
    ]
    t = tally(items, {}, skip=frozenset({"c/q"}))
    assert (t.total, t.unknown_left, t.seconds_total, t.seconds_left) == (3, 2, 60, 60)


def test_a_skipped_copy_inside_a_playlist_leaves_its_other_videos_counted():
    playlist = item("pl", None, item("a", 60), item("b", 60), item("d", 60), kind="playlist")
    t = tally([playlist], {"c/b": "done", "c/d": "doing"}, skip=frozenset({"c/a"}))
    assert (t.total, t.done, t.doing, t.seconds_total) == (2, 1, 1, 120)


@pytest.mark.parametrize(
    "figures, left, total",
    [
        (Tally(total=2, seconds_total=7200, seconds_left=3600), "1h 00m", "2h 00m"),
        (Tally(total=2, seconds_total=7200, seconds_left=3600, unknown_left=1), "1h 00m+", "2h 00m"),
        (Tally(total=2, unknown_left=2), "unknown", "unknown"),
        (Tally(total=2, done=2, seconds_total=60), "0m", "1m"),
        (Tally(), "0m", "0m"),
    ],
)
def test_hours_left_and_total_read_as_a_person_says_them(figures, left, total):
    assert left_text(figures) == left
    assert total_text(figures) == total


@pytest.mark.parametrize(
    "dead, text",
    [
        (None, ""),
        (False, ""),
        (True, "dead link"),
        (2025, "dead link since 2025"),
        ("2024-05", "dead link since 2024-05"),
    ],
)
def test_dead_link_text(dead, text):
    assert dead_text(dead) == text


def test_the_whole_curriculum_counts_a_shared_video_once_with_the_time_logged_on_any_copy():
    url = "https://www.youtube.com/watch?v=kCc8FmEb1nY"
    cur = curriculum(
        course("a", item("x", 600), item("gpt", HOUR, url=url)),
        course("b", item("gpt2", HOUR, url=url), item("y", 1200)),
        course("d", item("gpt3", HOUR, url=url)),
    )
    assert [i.key for i in also_in(cur, cur.items_by_key["b/gpt2"])] == ["a/gpt", "d/gpt3"]
    assert also_in(cur, cur.items_by_key["a/x"]) == []
    t = overall_tally(cur, {"b/y": "done"}, {"a/gpt": 100, "b/gpt2": 200, "d/gpt3": 300, "a/x": 60})
    assert (t.total, t.done, t.seconds_total) == (3, 1, HOUR + 600 + 1200)
    assert t.seconds_done == 100 + 200 + 300 + 60 + 1200
    assert t.seconds_left == (HOUR - 600) + (600 - 60)
    t = overall_tally(cur, {"d/gpt3": "done"}, {"b/gpt2": 200})
    assert (t.total, t.done, t.seconds_done, t.seconds_left) == (3, 1, HOUR, 1800)
    # time on one copy only, the first or another: counted once, as it was logged
    t = overall_tally(cur, {}, {"b/gpt2": 200})
    assert (t.seconds_done, t.seconds_left) == (200, HOUR - 200 + 1800)
    t = overall_tally(cur, {}, {"a/gpt": 100})
    assert (t.seconds_done, t.seconds_left) == (100, HOUR - 100 + 1800)


# ---- statuses carried down and shared -----------------------------------------------


def test_a_child_marked_todo_under_a_finished_parent_reads_finished():
    book = item(
        "book",
        None,
        item("ch1", None, item("part", kind="topic"), kind="topic"),
        item("ch2", kind="topic"),
        kind="book",
    )
    cur = curriculum(course("c", book))
    statuses = effective_statuses(cur, {"c/book": "done", "c/ch1": "todo"})
    assert statuses == {"c/book": "done", "c/ch1": "done", "c/part": "done", "c/ch2": "done"}
    statuses = effective_statuses(cur, {"c/book": "skipped", "c/ch2": "doing"})
    assert statuses["c/ch1"] == "skipped" and statuses["c/part"] == "skipped"
    assert statuses["c/ch2"] == "doing"


def test_a_child_in_progress_under_a_finished_parent_still_passes_the_parents_status_down():
    book = item("book", None, item("ch1", None, item("part", kind="topic"), kind="topic"), kind="book")
    cur = curriculum(course("c", book))
    statuses = effective_statuses(cur, {"c/book": "done", "c/ch1": "doing"})
    assert statuses == {"c/book": "done", "c/ch1": "doing", "c/part": "done"}


def test_copies_of_one_video_share_progress_but_a_skip_is_kept():
    url = "https://www.youtube.com/watch?v=kCc8FmEb1nY"
    cur = curriculum(
        course("a", item("gpt", HOUR, url=url)),
        course("b", item("gpt2", HOUR, url=url)),
        course("d", item("gpt3", HOUR, url=url)),
    )
    assert effective_statuses(cur, {"a/gpt": "done"}) == {"a/gpt": "done", "b/gpt2": "done", "d/gpt3": "done"}
    assert effective_statuses(cur, {"b/gpt2": "doing"}) == {
        "a/gpt": "doing",
        "b/gpt2": "doing",
        "d/gpt3": "doing",
    }
    assert effective_statuses(cur, {"a/gpt": "skipped", "b/gpt2": "doing"}) == {
        "a/gpt": "skipped",
        "b/gpt2": "doing",
        "d/gpt3": "doing",
    }
    assert effective_statuses(cur, {"a/gpt": "skipped", "b/gpt2": "done"}) == {
        "a/gpt": "done",
        "b/gpt2": "done",
        "d/gpt3": "done",
    }
    assert effective_statuses(cur, {}) == {"a/gpt": "todo", "b/gpt2": "todo", "d/gpt3": "todo"}


# ---- per course ---------------------------------------------------------------------


def test_course_summaries_count_the_time_logged_in_each_course_only():
    cur = curriculum(course("ml", item("a", HOUR)), course("ml2", item("a", HOUR), item("b", HOUR)))
    summaries = {
        s.course.id: s
        for s in course_summaries(cur, {"ml2/b": "done"}, {"ml/a": 60, "ml2/a": 600, "ml2/b": 6})
    }
    assert summaries["ml"].seconds_logged == 60
    assert summaries["ml2"].seconds_logged == 606
    assert summaries["ml"].tally.seconds_done == 60 and summaries["ml"].tally.done == 0
    assert summaries["ml2"].tally.done == 1 and summaries["ml2"].tally.seconds_done == 600 + HOUR


# ---- what to study next -------------------------------------------------------------


def _eight_videos() -> Curriculum:
    return curriculum(course("c", *(item(f"v{n}", 60) for n in range(1, 9))))


def test_next_suggests_five_by_default_and_exactly_the_limit_asked():
    cur = _eight_videos()
    assert [i.id for i in next_items(cur, {})] == ["v1", "v2", "v3", "v4", "v5"]
    assert [i.id for i in next_items(cur, {}, limit=2)] == ["v1", "v2"]
    assert [i.id for i in next_items(cur, {}, limit=1)] == ["v1"]
    assert next_items(cur, {}, limit=0) == []
    assert [i.id for i in next_items(cur, {}, limit=20)] == [f"v{n}" for n in range(1, 9)]


def test_next_puts_items_in_progress_first_and_skips_finished_ones():
    cur = _eight_videos()
    progress = {"c/v1": "done", "c/v2": "skipped", "c/v6": "doing"}
    assert [i.id for i in next_items(cur, progress, limit=3)] == ["v6", "v3", "v4"]
    assert [i.id for i in next_items(cur, progress, limit=1)] == ["v6"]


def test_next_waits_for_a_parents_prerequisites_and_an_unknown_one_does_not_block():
    intro = item("intro", 60)
    book = item("book", None, item("ch1", 60, kind="topic"), kind="book", prerequisites=("c/intro",))
    shelf = item(
        "shelf",
        None,
        item("inner", None, item("deep", 60, kind="topic"), kind="topic"),
        kind="book",
        prerequisites=("c/intro",),
    )
    other = item("other", 60, prerequisites=("c/gone",))
    cur = curriculum(course("c", intro, book, shelf, other))
    assert [i.id for i in next_items(cur, {})] == ["intro", "other"]
    assert [i.id for i in next_items(cur, {"c/intro": "done"})] == ["ch1", "deep", "other"]


def test_a_finished_playlist_as_prerequisite_unblocks_what_depends_on_it():
    pl = item("pl", None, item("a", 60), item("b", 60), kind="playlist")
    after = item("after", 60, prerequisites=("c/pl",))
    cur = curriculum(course("c", pl, after))
    assert [i.id for i in next_items(cur, {"c/a": "done"})] == ["b"]
    assert [i.id for i in next_items(cur, {"c/a": "done", "c/b": "skipped"})] == ["after"]


def test_an_items_own_prerequisite_counts_beside_its_parents():
    book = item(
        "book",
        None,
        item("ch1", 60, kind="topic", prerequisites=("c/extra",)),
        item("ch2", 60, kind="topic"),
        kind="book",
        prerequisites=("c/intro",),
    )
    cur = curriculum(course("c", item("intro", 60), item("extra", 60), book))
    assert [i.id for i in next_items(cur, {"c/intro": "done"})] == ["extra", "ch2"]
    assert [i.id for i in next_items(cur, {"c/extra": "done"})] == ["intro"]


def test_next_suggests_the_copy_marked_in_progress_given_the_stores_progress_rows():
    url = "https://www.youtube.com/watch?v=kCc8FmEb1nY"
    cur = curriculum(
        course("a", item("gpt", HOUR, url=url), item("x", 60)), course("b", item("gpt2", HOUR, url=url))
    )
    row = Progress(
        key="b/gpt2",
        status="doing",
        started_at="2026-01-01T00:00:00+00:00",
        completed_at=None,
        updated_at="2026-01-01T00:00:00+00:00",
    )
    assert [i.key for i in next_items(cur, {"b/gpt2": row})] == ["b/gpt2", "a/x"]


def test_a_reference_is_taken_as_typed_but_for_spaces_and_slashes_around_it():
    with pytest.raises(ResolveError, match="no item 'attentionX'"):
        resolve_item(_named(), "attentionX")


def test_next_suggests_a_shared_video_once_the_copy_in_progress():
    url = "https://www.youtube.com/watch?v=kCc8FmEb1nY"
    cur = curriculum(
        course("a", item("gpt", HOUR, url=url), item("x", 60)), course("b", item("gpt2", HOUR, url=url))
    )
    assert [i.key for i in next_items(cur, {"b/gpt2": "doing"})] == ["b/gpt2", "a/x"]
    assert [i.key for i in next_items(cur, {})] == ["a/gpt", "a/x"]


# ---- resolving what the user typed --------------------------------------------------


def _named() -> Curriculum:
    return curriculum(
        course(
            "c",
            item("attention"),
            item("embedding"),
            item("zth-micrograd"),
            item("makemore-part-2"),
            item("intro"),
        ),
        course("d", item("intro"), item("topic")),
    )


@pytest.mark.parametrize("ref", ["", "   ", "/", " // "])
def test_an_empty_reference_is_refused_with_no_candidates(ref):
    with pytest.raises(
        ResolveError, match=r"^empty item reference \(give course/item, an item id or a prefix\)$"
    ) as e:
        resolve_item(_named(), ref)
    assert e.value.candidates == []


@pytest.mark.parametrize(
    "ref, key",
    [
        ("c/attention", "c/attention"),
        (" c/attention/ ", "c/attention"),
        ("attention", "c/attention"),
        ("emb", "c/embedding"),
        ("c/emb", "c/embedding"),
        ("micrograd", "c/zth-micrograd"),
        ("part", "c/makemore-part-2"),
        ("2", "c/makemore-part-2"),
        ("d/intro", "d/intro"),
        ("top", "d/topic"),
    ],
)
def test_references_resolve_by_key_id_prefix_or_whole_word(ref, key):
    assert resolve_item(_named(), ref).key == key


def test_an_id_in_two_courses_is_ambiguous_and_both_are_offered():
    with pytest.raises(ResolveError, match=r"'intro' matches 2 items; be more specific") as e:
        resolve_item(_named(), "intro")
    assert e.value.candidates == ["c/intro", "d/intro"]


@pytest.mark.parametrize("ref", ["grad", "micro", "c/micrograd", "art"])
def test_part_of_a_word_or_a_word_after_a_course_does_not_resolve(ref):
    with pytest.raises(ResolveError, match=f"no item '{ref}'"):
        resolve_item(_named(), ref)


def test_a_misspelt_reference_offers_the_close_items_as_keys():
    with pytest.raises(ResolveError) as e:
        resolve_item(_named(), "atention")
    assert e.value.candidates == ["c/attention"]
    with pytest.raises(ResolveError) as e:
        resolve_item(_named(), "c/embeding")
    assert e.value.candidates == ["c/embedding"]
    with pytest.raises(ResolveError) as e:
        resolve_item(_named(), "qqqqqq")
    assert e.value.candidates == []


def test_did_you_mean_offers_at_most_five_items():
    cur = curriculum(course("c", *(item(f"topic-{n}") for n in range(1, 9))))
    with pytest.raises(ResolveError) as e:
        resolve_item(cur, "topic-x")
    assert e.value.candidates == ["c/topic-4", "c/topic-5", "c/topic-6", "c/topic-7", "c/topic-8"]
