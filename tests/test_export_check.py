"""What `studytui restore` refuses before it touches anything, rule by rule.

Every case goes through `Store.check_export`, the function the CLI's `restore` calls on a
backup before it writes a backup of its own or a row of the database: a refused file
gives one line naming the table, the row and the field; an accepted edge case is taken
whole. Boundaries are tested on both sides so that each comparison matters.
"""

from __future__ import annotations

import copy
import json
import re

import pytest

from studytui.store import Store, StoreError, migrations
from studytui.store.export_check import MAX_ID, MAX_SECONDS, MAX_TEXT
from studytui.store.store import STATE_TABLES

T = "2026-01-02T03:04:05+00:00"
T_UTC = "2026-01-02T03:04:05.000000+00:00"  # review times: UTC, microseconds written
SCHEDULE = {"state": 2, "step": None, "stability": 3.5, "difficulty": 5.0, "due": T_UTC, "last_review": T_UTC}
BIG = 9223372036854775807  # SQLite's largest INTEGER, spelled out: MAX_ID must equal it


def ascii_id(value) -> str:
    """A test id in plain ASCII: pytest cannot select again a node id that holds an escaped
    control character (mutmut selects tests by id)."""
    return re.sub(r"[^\w.:/=+-]+", "_", str(value))[:30]


def valid_export() -> dict:
    """A small export with a row (or two) in every table, every one of them valid."""
    card = {"term": "attention", **SCHEDULE, "added_at": T, "added_by": "c/a", "suspended": 0, "flagged": 0}
    return {
        "format": "studytui-export",
        "version": 1,
        "exported_at": T,
        "migrations": list(migrations.NAMES),
        "progress": [
            {"key": "c/a", "status": "done", "started_at": T, "completed_at": T, "updated_at": T},
            {"key": "c/b", "status": "todo", "started_at": None, "completed_at": None, "updated_at": T},
        ],
        "notes": [{"key": "c/a", "body": "## notes\nline two\twith a tab, ✅ 中文", "updated_at": T}],
        "time_log": [{"id": 1, "key": "c/a", "seconds": 600, "logged_at": T, "source": "timer"}],
        "events": [
            {
                "id": 1,
                "at": T,
                "key": "c/a",
                "kind": "status",
                "old": '"todo"',
                "new": '"done"',
                "source": "cli",
            },
            {
                "id": 2,
                "at": T,
                "key": None,
                "kind": "reading",
                "old": None,
                "new": '{"id": 1}',
                "source": "tui",
            },
        ],
        "reading": [
            {
                "id": 1,
                "url": "https://example.org/a",
                "title": "A paper",
                "kind": "paper",
                "tags": '["rl", "ppo"]',
                "status": "course",
                "course": "c",
                "added_at": T,
                "updated_at": T,
            }
        ],
        "review_cards": [{**card, "direction": "forward"}, {**card, "direction": "reverse"}],
        "review_log": [
            {
                "id": 1,
                "term": "attention",
                "direction": "forward",
                "rating": 3,
                "reviewed_at": T_UTC,
                "duration_ms": 1200,
                "before": json.dumps(SCHEDULE),
                "source": "cli",
            }
        ],
        "settings": [{"key": "desired_retention", "value": "0.9"}],
    }


def refused(doc) -> str:
    with pytest.raises(StoreError) as e:
        Store.check_export(doc)
    message = str(e.value)
    assert "\n" not in message
    return message


def with_value(table: str, column: str, value, row: int = 0) -> dict:
    doc = valid_export()
    doc[table][row][column] = value
    return doc


def without(table: str, column: str) -> dict:
    doc = valid_export()
    del doc[table][0][column]
    return doc


def test_the_valid_export_is_accepted_and_restores_whole(tmp_path):
    doc = valid_export()
    Store.check_export(copy.deepcopy(doc))
    store = Store(tmp_path / "studytui.db")
    counts = store.restore_state(doc)
    assert counts == {table: len(doc[table]) for table in STATE_TABLES}
    store.close()


def test_the_limits_are_what_the_messages_and_sqlite_say():
    assert (MAX_ID, MAX_SECONDS, MAX_TEXT) == (BIG, 86400, 1_000_000)


# ---- the document -------------------------------------------------------------------

NOT_AN_EXPORT = 'not a studytui JSON export (missing "format": "studytui-export")'


@pytest.mark.parametrize(
    "doc",
    [None, [], "studytui-export", {}, {"format": "studytui-exports", "version": 1}, {"version": 1}],
)
def test_a_document_that_is_not_an_export_is_refused(doc):
    assert refused(doc) == NOT_AN_EXPORT


@pytest.mark.parametrize(
    "version, shown",
    [
        (2, "2"),
        (0, "0"),
        ("1", "'1'"),
        (None, "None"),
        ("9" * 100, "'" + "9" * 39),  # a long value is cut to 40 characters
    ],
)
def test_an_export_of_another_version_is_refused(version, shown):
    doc = valid_export()
    doc["version"] = version
    assert refused(doc) == f"unsupported export version {shown} (this studytui reads 1)"


def test_an_export_without_a_version_is_refused():
    doc = valid_export()
    del doc["version"]
    assert refused(doc) == "unsupported export version None (this studytui reads 1)"


@pytest.mark.parametrize("table", list(STATE_TABLES))
def test_an_export_missing_a_table_is_refused_not_taken_as_empty(table):
    doc = valid_export()
    del doc[table]
    assert refused(doc) == f"export has no {table!r} list (is the file complete?)"


def test_an_export_from_before_the_review_deck_may_lack_its_tables():
    doc = valid_export()
    for table in ("review_cards", "review_log", "settings"):
        del doc[table]
    doc["migrations"] = ["m001_progress_notes_time_events", "m002_runs_index", "m003_reading_list"]
    Store.check_export(doc)


@pytest.mark.parametrize("table", ["review_cards", "review_log", "settings"])
def test_a_review_table_may_be_missing_only_from_an_export_that_says_it_is_older(table):
    doc = valid_export()
    del doc[table]
    assert "m004_review_deck" in doc["migrations"]
    assert refused(doc) == f"export has no {table!r} list (is the file complete?)"
    doc.pop("migrations")  # no list of migrations: nothing says the file is older
    assert refused(doc) == f"export has no {table!r} list (is the file complete?)"
    doc["migrations"] = "m001_progress_notes_time_events"  # not a list either
    assert refused(doc) == f"export has no {table!r} list (is the file complete?)"


def test_an_older_export_still_needs_every_table_it_did_have():
    doc = valid_export()
    del doc["review_cards"], doc["notes"]
    doc["migrations"] = ["m001_progress_notes_time_events"]
    assert refused(doc) == "export has no 'notes' list (is the file complete?)"


def test_an_older_export_may_still_carry_review_tables_and_they_are_checked():
    doc = with_value("settings", "value", "not json")
    doc["migrations"] = ["m001_progress_notes_time_events"]
    assert refused(doc) == "settings[0].value is not JSON text"


def test_unknown_tables_and_columns_are_ignored():
    doc = valid_export()
    doc["bookmarks"] = "anything at all"
    doc["notes"][0]["pinned"] = {"not": "checked"}
    Store.check_export(doc)


@pytest.mark.parametrize("rows", [None, {}, {"0": {}}, "[]", 3])
def test_a_table_that_is_not_a_list_is_refused(rows):
    doc = valid_export()
    doc["notes"] = rows
    assert refused(doc) == "export field 'notes' must be a list of objects"


@pytest.mark.parametrize("row, kind", [("c/a", "str"), (["c/a"], "list"), (None, "NoneType"), (1, "int")])
def test_a_row_that_is_not_an_object_is_refused(row, kind):
    doc = valid_export()
    doc["progress"][1] = row
    assert refused(doc) == f"progress[1] must be an object, got {kind}"


def test_empty_tables_are_accepted():
    doc = valid_export()
    for table in STATE_TABLES:
        doc[table] = []
    Store.check_export(doc)


def test_the_first_bad_table_row_and_column_is_the_one_named():
    doc = valid_export()
    doc["progress"][1]["status"] = "finished"
    doc["progress"][1]["updated_at"] = "later"
    doc["notes"][0]["body"] = 1
    assert refused(doc) == "progress[1].status must be one of todo, doing, done, skipped, got 'finished'"
    doc["progress"][1]["key"] = ""
    assert refused(doc) == "progress[1].key must not be empty"


# ---- one field at a time: refused ----------------------------------------------------

ESC = "contains a control character U+001B ESCAPE at offset"
LONG = f"is longer than {MAX_TEXT} characters"
ISO = "is not an ISO 8601 time, got"
REFUSED = [
    # progress
    ("progress", "key", 7, "must be text, got int"),
    ("progress", "key", None, "must be text, got NoneType"),
    ("progress", "key", "", "must not be empty"),
    ("progress", "key", "   ", "must not be empty"),
    ("progress", "key", "c/\x1b]0;x\x07", f"{ESC} 2 (and 1 more)"),
    ("progress", "key", "c/a\nc/b", "contains a control character U+000A LINE FEED at offset 3"),
    ("progress", "key", "c/\udcff", "contains bytes that are not UTF-8 at offset 2"),
    ("progress", "key", "k" * (MAX_TEXT + 1), LONG),
    ("progress", "status", "finished", "must be one of todo, doing, done, skipped, got 'finished'"),
    ("progress", "status", None, "must be one of todo, doing, done, skipped, got None"),
    ("progress", "status", "Done", "must be one of todo, doing, done, skipped, got 'Done'"),
    ("progress", "status", "x" * 100, "must be one of todo, doing, done, skipped, got '" + "x" * 39),
    ("progress", "started_at", "yesterday", f"{ISO} 'yesterday'"),
    ("progress", "started_at", 5, "must be text, got int"),
    ("progress", "completed_at", "2026-13-01", f"{ISO} '2026-13-01'"),
    ("progress", "updated_at", None, "must be text, got NoneType"),
    ("progress", "updated_at", "not a time " * 10, f"{ISO} {('not a time ' * 4)[:40]!r}"),
    ("progress", "updated_at", "2026-01-02\x1b", f"{ESC} 10"),
    # notes: text over many lines
    ("notes", "key", "", "must not be empty"),
    ("notes", "body", 42, "must be text, got int"),
    ("notes", "body", None, "must be text, got NoneType"),
    (
        "notes",
        "body",
        "a lone \r is not a line end",
        "contains a control character U+000D CARRIAGE RETURN at offset 7",
    ),
    ("notes", "body", "a\n\x1b[2J", f"{ESC} 2"),
    ("notes", "body", "one\r\ntwo\x1b", f"{ESC} 8"),  # the offset in the text as written
    ("notes", "body", "n" * (MAX_TEXT + 1), LONG),
    ("notes", "body", "\r\n" * (MAX_TEXT // 2 + 1), LONG),  # measured before CRLF becomes LF
    ("notes", "updated_at", "", f"{ISO} ''"),
    # time_log
    ("time_log", "id", True, "must be a whole number, got bool"),
    ("time_log", "id", 1.0, "must be a whole number, got float"),
    ("time_log", "id", "1", "must be a whole number, got str"),
    ("time_log", "id", None, "must be a whole number, got NoneType"),
    ("time_log", "id", 0, f"must be between 1 and {BIG}"),
    ("time_log", "id", -1, f"must be between 1 and {BIG}"),
    ("time_log", "id", BIG + 1, f"must be between 1 and {BIG}"),
    ("time_log", "key", "", "must not be empty"),
    ("time_log", "seconds", True, "must be a whole number of seconds, got bool"),
    ("time_log", "seconds", 60.0, "must be a whole number of seconds, got float"),
    ("time_log", "seconds", 0, "must be between 1 and 86400"),
    ("time_log", "seconds", 86401, "must be between 1 and 86400"),
    ("time_log", "seconds", 10**20, "must be between 1 and 86400"),
    ("time_log", "logged_at", "now", f"{ISO} 'now'"),
    ("time_log", "source", None, "must be text, got NoneType"),
    ("time_log", "source", "cli\n", "contains a control character U+000A LINE FEED at offset 3"),
    # events
    ("events", "id", 0, f"must be between 1 and {BIG}"),
    ("events", "at", "x", f"{ISO} 'x'"),
    ("events", "key", "", "must not be empty"),
    ("events", "key", 3, "must be text, got int"),
    ("events", "kind", "", "must not be empty"),
    ("events", "kind", None, "must be text, got NoneType"),
    ("events", "old", "{not json", "is not JSON text"),
    ("events", "old", 5, "must be text, got int"),
    ("events", "old", '"\x1b]52;c;x\x07"', f"{ESC} 1 (and 1 more)"),
    ("events", "new", "", "is not JSON text"),
    ("events", "new", '"a raw\nline end"', "is not JSON text"),  # fine text, but JSON escapes it
    ("events", "new", {"id": 1}, "must be text, got dict"),
    # an escape spells what the raw text hides; undo would write it back into a note
    ("events", "old", '{"body": "x\\u001b[2J"}', f"holds text that {ESC} 1"),
    ("events", "old", '{"\\u001b": 1}', f"holds text that {ESC} 0"),  # an object key
    (
        "events",
        "new",
        '[1, {"a": ["ok", "\\u202e"]}]',
        "holds text that contains a control character U+202E RIGHT-TO-LEFT OVERRIDE at offset 0",
    ),
    ("events", "new", "j" * (MAX_TEXT + 1), LONG),
    # reading
    ("reading", "id", False, "must be a whole number, got bool"),
    ("reading", "id", BIG + 1, f"must be between 1 and {BIG}"),
    ("reading", "url", None, "must be text, got NoneType"),
    ("reading", "url", "javascript:alert(1)", "must be an http(s) URL"),
    ("reading", "url", "https://", "must be an http(s) URL with a host"),
    ("reading", "url", "https://a b", "must be an http(s) URL without spaces"),
    ("reading", "url", "", "must be an http(s) URL without spaces"),
    ("reading", "url", "https://example.org:99999/", "is not a valid URL (Port out of range 0-65535)"),
    ("reading", "url", "https://example.org/\x1b", f"{ESC} 20"),
    ("reading", "title", "", "must not be empty"),
    (
        "reading",
        "title",
        "x\u202eexe",
        "contains a control character U+202E RIGHT-TO-LEFT OVERRIDE at offset 1",
    ),
    ("reading", "kind", "", "must not be empty"),
    ("reading", "tags", ["rl"], "must be a JSON list as text, got list"),
    ("reading", "tags", None, "must be a JSON list as text, got NoneType"),
    ("reading", "tags", "[/]", "is not a JSON list"),
    ("reading", "tags", "", "is not a JSON list"),
    ("reading", "tags", '{"a": 1}', "must be a JSON list of strings"),
    ("reading", "tags", '"rl"', "must be a JSON list of strings"),
    ("reading", "tags", '["a", 1]', "must be a JSON list of strings"),
    ("reading", "tags", '["ok", "a\\u001bb"]', f"entry {ESC} 1"),
    ("reading", "status", "trash", "must be one of inbox, archive, course, got 'trash'"),
    ("reading", "status", "done", "must be one of inbox, archive, course, got 'done'"),
    ("reading", "course", 5, "must be text, got int"),
    ("reading", "course", "c\n", "contains a control character U+000A LINE FEED at offset 1"),
    ("reading", "added_at", "today", f"{ISO} 'today'"),
    ("reading", "updated_at", None, "must be text, got NoneType"),
    # review cards
    ("review_cards", "term", "", "must not be empty"),
    ("review_cards", "direction", "sideways", "must be one of forward, reverse, got 'sideways'"),
    ("review_cards", "direction", None, "must be one of forward, reverse, got None"),
    ("review_cards", "state", 0, "must be between 1 and 3"),
    ("review_cards", "state", 4, "must be between 1 and 3"),
    ("review_cards", "state", True, "must be a whole number, got bool"),
    ("review_cards", "state", 2.0, "must be a whole number, got float"),
    ("review_cards", "state", None, "must be a whole number, got NoneType"),
    ("review_cards", "step", -1, "must be between 0 and 1000"),
    ("review_cards", "step", 1001, "must be between 0 and 1000"),
    ("review_cards", "step", "1", "must be a whole number, got str"),
    ("review_cards", "stability", -0.001, "must be between 0 and 1000000000.0"),
    ("review_cards", "stability", 1e9 + 1, "must be between 0 and 1000000000.0"),
    ("review_cards", "stability", "3.5", "must be a number, got str"),
    ("review_cards", "stability", True, "must be a number, got bool"),
    ("review_cards", "stability", float("nan"), "must be a number, got float"),
    ("review_cards", "stability", float("inf"), "must be a number, got float"),
    ("review_cards", "difficulty", 0.99, "must be between 1 and 10"),
    ("review_cards", "difficulty", 10.01, "must be between 1 and 10"),
    ("review_cards", "difficulty", 0, "must be between 1 and 10"),
    ("review_cards", "difficulty", float("-inf"), "must be a number, got float"),
    ("review_cards", "due", None, "must be text, got NoneType"),
    ("review_cards", "due", "soon", f"{ISO} 'soon'"),
    ("review_cards", "due", "2026-01-02T03:04:05+02:00", "must be a UTC time"),
    ("review_cards", "due", "2026-01-02T03:04:05", "must be a UTC time"),  # no zone at all
    ("review_cards", "last_review", "2026-01-02T03:04:05-00:30", "must be a UTC time"),
    ("review_cards", "last_review", 1767323045, "must be text, got int"),
    ("review_cards", "added_at", "x", f"{ISO} 'x'"),
    ("review_cards", "added_by", "", "must not be empty"),
    ("review_cards", "suspended", 2, "must be between 0 and 1"),
    ("review_cards", "suspended", -1, "must be between 0 and 1"),
    ("review_cards", "suspended", False, "must be a whole number, got bool"),
    ("review_cards", "flagged", 2, "must be between 0 and 1"),
    ("review_cards", "flagged", None, "must be a whole number, got NoneType"),
    # review log
    ("review_log", "id", -5, f"must be between 1 and {BIG}"),
    ("review_log", "term", None, "must be text, got NoneType"),
    ("review_log", "direction", "Forward", "must be one of forward, reverse, got 'Forward'"),
    ("review_log", "rating", 0, "must be between 1 and 4"),
    ("review_log", "rating", 5, "must be between 1 and 4"),
    ("review_log", "rating", "good", "must be a whole number, got str"),
    ("review_log", "reviewed_at", "2026-01-02T03:04:05", "must be a UTC time"),
    ("review_log", "reviewed_at", "x", f"{ISO} 'x'"),
    ("review_log", "duration_ms", -1, f"must be between 0 and {BIG}"),
    ("review_log", "duration_ms", BIG + 1, f"must be between 0 and {BIG}"),
    ("review_log", "duration_ms", 1.5, "must be a whole number, got float"),
    ("review_log", "before", None, "must be JSON text"),
    ("review_log", "before", 7, "must be text, got int"),
    ("review_log", "before", "not json", "is not JSON text"),
    ("review_log", "before", "[1]", "must be a JSON object"),
    ("review_log", "before", "null", "must be a JSON object"),
    ("review_log", "before", '{"state": 9}', "state must be between 1 and 3"),
    ("review_log", "before", json.dumps({**SCHEDULE, "step": -1}), "step must be between 0 and 1000"),
    (
        "review_log",
        "before",
        json.dumps({**SCHEDULE, "stability": -1}),
        "stability must be between 0 and 1000000000.0",
    ),
    (
        "review_log",
        "before",
        json.dumps({**SCHEDULE, "difficulty": 11}),
        "difficulty must be between 1 and 10",
    ),
    (
        "review_log",
        "before",
        json.dumps({**SCHEDULE, "due": "2026-01-02T03:04:05"}),
        "due must be a UTC time",
    ),
    ("review_log", "before", json.dumps({**SCHEDULE, "last_review": "x"}), f"last_review {ISO} 'x'"),
    (
        "review_log",
        "before",
        json.dumps({k: v for k, v in SCHEDULE.items() if k != "due"}),
        "due must be text, got NoneType",
    ),
    ("review_log", "before", '{"state": 2, "due": "\x1b"}', f"{ESC} 21"),
    ("review_log", "source", 1, "must be text, got int"),
    # settings
    (
        "settings",
        "value",
        '["\\u0007"]',
        "holds text that contains a control character U+0007 BELL at offset 0",
    ),
    ("settings", "key", "", "must not be empty"),
    ("settings", "value", None, "must be JSON text"),
    ("settings", "value", "not json", "is not JSON text"),
    ("settings", "value", 0.9, "must be text, got float"),
]


@pytest.mark.parametrize("table, column, value, problem", REFUSED, ids=ascii_id)
def test_a_bad_field_is_refused_with_a_line_naming_it(table, column, value, problem):
    assert refused(with_value(table, column, value)) == f"{table}[0].{column} {problem}"


REQUIRED = [
    ("progress", "key"),
    ("progress", "status"),
    ("progress", "updated_at"),
    ("notes", "body"),
    ("time_log", "id"),
    ("time_log", "seconds"),
    ("time_log", "source"),
    ("events", "at"),
    ("events", "kind"),
    ("reading", "url"),
    ("reading", "title"),
    ("reading", "tags"),
    ("review_cards", "state"),
    ("review_cards", "due"),
    ("review_cards", "suspended"),
    ("review_log", "rating"),
    ("review_log", "before"),
    ("settings", "value"),
]


@pytest.mark.parametrize("table, column", REQUIRED)
def test_a_row_missing_a_required_field_is_refused(table, column):
    assert refused(without(table, column)).startswith(f"{table}[0].{column} must ")


# ---- one field at a time: accepted ---------------------------------------------------

ACCEPTED = [
    *[("progress", "status", status) for status in ("todo", "doing", "done", "skipped")],
    ("progress", "key", " c/a "),  # blank only around the text: still a key
    ("progress", "key", "k" * MAX_TEXT),
    ("progress", "started_at", None),
    ("progress", "completed_at", None),
    ("progress", "updated_at", "2026-01-02"),  # a date alone is an ISO 8601 time
    ("progress", "updated_at", "2026-01-02T03:04:05"),  # no zone: fine outside the review deck
    ("progress", "updated_at", "2026-01-02T03:04:05.123456+05:30"),
    ("notes", "body", "one\r\ntwo\r\n"),  # Windows line ends, as older versions stored them
    ("notes", "body", "tab\there\nand a new line"),
    ("notes", "body", ""),
    ("notes", "body", "n" * MAX_TEXT),
    ("notes", "body", "\r\n" * (MAX_TEXT // 2)),
    ("time_log", "id", 1),
    ("time_log", "id", BIG),
    ("time_log", "seconds", 1),
    ("time_log", "seconds", 86400),
    ("time_log", "source", ""),
    ("events", "key", None),
    ("events", "old", None),
    ("events", "new", None),
    ("events", "new", '{"body": "line one\\nline two"}'),
    ("events", "new", '{"body": "tab\\there\\r\\nand Windows line ends"}'),
    ("events", "kind", "something newer"),  # kinds are not a closed list
    ("events", "source", ""),
    ("reading", "id", BIG),
    ("reading", "url", "http://example.org"),
    ("reading", "url", "HTTPS://EXAMPLE.ORG/Path"),
    ("reading", "url", "https://example.org:8080/p?q=1#frag"),
    ("reading", "tags", "[]"),
    ("reading", "tags", '["ok", ""]'),
    *[("reading", "status", place) for place in ("inbox", "archive", "course")],
    ("reading", "course", None),
    ("reading", "course", ""),
    ("review_cards", "state", 1),
    ("review_cards", "state", 3),
    ("review_cards", "step", None),
    ("review_cards", "step", 0),
    ("review_cards", "step", 1000),
    ("review_cards", "stability", None),
    ("review_cards", "stability", 0),
    ("review_cards", "stability", 1e9),
    ("review_cards", "stability", 7),  # a whole number is a number
    ("review_cards", "difficulty", None),
    ("review_cards", "difficulty", 1),
    ("review_cards", "difficulty", 10.0),
    ("review_cards", "due", "2026-01-02T03:04:05Z"),
    ("review_cards", "due", "2026-01-02T03:04:05+00:00"),
    ("review_cards", "last_review", None),
    ("review_cards", "suspended", 1),
    ("review_cards", "flagged", 1),
    ("review_log", "rating", 1),
    ("review_log", "rating", 4),
    ("review_log", "duration_ms", None),
    ("review_log", "duration_ms", 0),
    ("review_log", "duration_ms", BIG),
    ("review_log", "before", json.dumps({**SCHEDULE, "step": 0, "stability": None, "last_review": None})),
    ("review_log", "before", json.dumps({**SCHEDULE, "extra": "ignored"})),
    ("settings", "value", '"text"'),
    ("settings", "value", "null"),
    ("settings", "value", '{"a": [1, 2]}'),
]


@pytest.mark.parametrize("table, column, value", ACCEPTED, ids=ascii_id)
def test_an_edge_value_is_accepted(table, column, value):
    Store.check_export(with_value(table, column, value))


@pytest.mark.parametrize(
    "table, column",
    [
        ("progress", "started_at"),
        ("progress", "completed_at"),
        ("events", "key"),
        ("events", "old"),
        ("events", "new"),
        ("reading", "course"),
        ("review_cards", "step"),
        ("review_cards", "stability"),
        ("review_cards", "difficulty"),
        ("review_cards", "last_review"),
        ("review_log", "duration_ms"),
    ],
)
def test_an_optional_field_may_be_left_out(table, column):
    Store.check_export(without(table, column))


# ---- each table's key appears once -----------------------------------------------------

DUPLICATES = [
    ("progress", "key", "'c/a'"),
    ("notes", "key", "'c/a'"),
    ("time_log", "id", "1"),
    ("events", "id", "1"),
    ("reading", "id", "1"),
    ("review_cards", "term+direction", "('attention', 'forward')"),
    ("review_log", "id", "1"),
    ("settings", "key", "'desired_retention'"),
]


@pytest.mark.parametrize("table, column, shown", DUPLICATES, ids=ascii_id)
def test_a_key_that_appears_twice_is_refused(table, column, shown):
    doc = valid_export()
    doc[table].append(copy.deepcopy(doc[table][0]))
    index = len(doc[table]) - 1
    assert refused(doc) == f"{table}[{index}].{column} {shown} appears twice"


@pytest.mark.parametrize("table, column", [("progress", "key"), ("time_log", "id"), ("review_log", "id")])
def test_rows_whose_keys_differ_are_all_accepted(table, column):
    doc = valid_export()
    for n in range(2, 5):
        row = copy.deepcopy(doc[table][0])
        row[column] = f"c/{n}" if column == "key" else n
        doc[table].append(row)
    Store.check_export(doc)


def test_one_term_in_both_directions_is_two_cards_not_a_duplicate():
    doc = valid_export()
    assert [c["direction"] for c in doc["review_cards"]] == ["forward", "reverse"]
    Store.check_export(doc)
    doc["review_cards"][1]["term"] = "bigram"
    doc["review_cards"].append({**doc["review_cards"][1], "direction": "forward"})
    Store.check_export(doc)


def test_the_same_id_in_two_tables_is_no_duplicate():
    doc = valid_export()
    assert doc["time_log"][0]["id"] == doc["events"][0]["id"] == doc["reading"][0]["id"] == 1
    Store.check_export(doc)


def test_a_long_duplicate_key_is_cut_short_in_the_message():
    doc = valid_export()
    doc["notes"] = [{"key": "k" * 100, "body": "x", "updated_at": T}] * 2
    assert refused(doc) == f"notes[1].key '{'k' * 59} appears twice"
