"""m005 rebuilds the reading table (AUTOINCREMENT): what a learner added by hand survives it.

The ids themselves are tested in tests/test_store_gaps.py; here, the rebuild's edges.
"""

from __future__ import annotations

from studytui.store import Store

BEFORE_AUTOINCREMENT = "m005_reading_ids_never_reused"


def _old_home(path) -> Store:
    old = Store(path, migrate=False)
    old.migrate(stop_before=BEFORE_AUTOINCREMENT)
    return old


def _made_by_hand(store: Store) -> list[tuple]:
    return store.conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'reading' AND type != 'table' ORDER BY name"
    ).fetchall()


def test_an_index_and_a_trigger_made_by_hand_are_carried_over(tmp_path):
    old = _old_home(tmp_path / "old.db")
    old.conn.execute("CREATE INDEX my_reading_by_title ON reading(title)")
    old.conn.execute("CREATE TABLE my_log (title TEXT)")
    old.conn.execute(
        "CREATE TRIGGER my_reading_added AFTER INSERT ON reading BEGIN "
        "INSERT INTO my_log VALUES (new.title); END"
    )
    hand_made = _made_by_hand(old)
    assert [name for _, name, _ in hand_made] == ["my_reading_added", "my_reading_by_title"]
    old.close()

    upgraded = Store(tmp_path / "old.db")
    assert _made_by_hand(upgraded) == hand_made
    upgraded.add_reading("https://example.org/a", "A")  # the trigger still fires
    assert upgraded.conn.execute("SELECT title FROM my_log").fetchall() == [("A",)]
    upgraded.close()


def test_the_id_sequence_has_one_entry_at_the_largest_id_ever_given(tmp_path):
    old = _old_home(tmp_path / "old.db")
    old.add_reading("https://example.org/a", "A")
    gone = old.add_reading("https://example.org/b", "B")
    old.delete_reading(gone)
    old.close()

    upgraded = Store(tmp_path / "old.db")
    sequence = upgraded.conn.execute("SELECT name, seq FROM sqlite_sequence WHERE name LIKE 'reading'")
    assert sequence.fetchall() == [("reading", gone)]
    upgraded.close()


def test_an_empty_reading_list_leaves_no_sequence_entry(tmp_path):
    _old_home(tmp_path / "old.db").close()
    upgraded = Store(tmp_path / "old.db")
    assert upgraded.conn.execute("SELECT * FROM sqlite_sequence WHERE name LIKE 'reading'").fetchall() == []
    assert upgraded.add_reading("https://example.org/a", "A") == 1
    upgraded.close()
