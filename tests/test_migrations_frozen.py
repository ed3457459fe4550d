"""Shipped schema steps never change: the schema each step leaves is pinned here.

migrations.py is append-only (a home upgraded by an older studytui already ran the old
text of a step, so editing it forks the schema between users). Each step is applied to a
fresh database and what SQLite keeps of the schema is compared with the file recorded when
the step shipped. A new step adds its entry: the failure prints it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studytui.store import Store, migrations

PINNED = Path(__file__).parent / "fixtures" / "store" / "schema_by_migration.json"


def schema_after_each_step(folder: Path) -> dict[str, list[str]]:
    schemas = {}
    for i, name in enumerate(migrations.NAMES):
        store = Store(folder / f"{i}.db", migrate=False)
        store.migrate(stop_before=migrations.NAMES[i + 1] if i + 1 < len(migrations.NAMES) else None)
        rows = store.conn.execute(
            # sqlite-utils' own bookkeeping table is its business, not a step's
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name != '_sqlite_migrations' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY type, name"
        )
        # whitespace is layout, not schema; letter case is kept (index names are stored as typed)
        schemas[name] = [f"{kind} {table}: {' '.join(sql.split())}" for kind, table, sql in rows]
        store.close()
    return schemas


def test_every_shipped_step_leaves_the_schema_it_shipped_with(tmp_path):
    pinned = json.loads(PINNED.read_text())
    found = schema_after_each_step(tmp_path)
    for name, schema in found.items():
        if name not in pinned:
            pytest.fail(f"new step {name}: add to {PINNED.name}: {json.dumps({name: schema}, indent=1)}")
        assert schema == pinned[name], f"{name} changed after it shipped: add a new step instead"
    assert list(found) == list(pinned), "a shipped step was removed or reordered"
