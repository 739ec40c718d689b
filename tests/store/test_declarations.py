"""A layer above declares its tables and views to the store, which names none of them.

The model registry is one such layer; here a made-up one ("notes", in a child process
of its own, so that its declaration stays there) proves the mechanism is generic: its
rows are merged by their natural key, its views are public, a snapshot carries its
table, compaction merges it, and a purge keeps the runs it names.
"""

from __future__ import annotations

import json

import pytest

import canvasback as cb
from canvasback.store import Store, declarations, schema
from canvasback.store.declarations import Declaration, declare
from canvasback.store.schema import Table

NOTES_LAYER = """
import json, sys
import canvasback as cb
from canvasback.store import declarations, open_store
from canvasback.store.declarations import Declaration
from canvasback.store.read.relations import FACTS, rows
from canvasback.store.schema import Table

NOTES = Table(
    "notes",
    (("note_id", "VARCHAR"), ("run_id", "VARCHAR"), ("text", "VARCHAR"), ("timestamp", "BIGINT")),
    sort=("note_id",),
    keys=("note_id",),
    first_by=("timestamp",),  # a note's earliest text wins
)
declarations.declare(
    Declaration(
        name="notes",
        partition="_notes",
        tables=(NOTES,),
        event_kinds=frozenset({"note_pinned"}),
        views=(
            ("_pins", f"SELECT entity_id AS note_id FROM {FACTS} WHERE kind = 'note_pinned'"),
            (
                "notes",
                f"SELECT n.note_id, n.run_id, n.text, p.note_id IS NOT NULL AS pinned "
                f"FROM {rows('notes')} n LEFT JOIN _pins p USING (note_id)",
            ),
        ),
        keep_runs="SELECT run_id FROM notes",
    )
)
root, step = sys.argv[1], sys.argv[2]
cb.set_store(root)
store = open_store(root)
if step == "write":
    kept, gone = cb.start_run(run_name="noted"), None
    cb.end_run()
    gone = cb.start_run(run_name="plain")
    cb.end_run()
    client = cb.client()
    client.delete_run(kept.info.run_id)
    client.delete_run(gone.info.run_id)
    for row in (("n1", kept.info.run_id, "later text", 20), ("n2", None, "loose", 5)):
        store.writer.append("notes", "_notes", row)
    store.flush()  # a second file: n1 again, earlier
    store.writer.append("notes", "_notes", ("n1", kept.info.run_id, "first text", 10))
    store.writer.event("_notes", "n2", "note_pinned", "", "yes")
    store.flush()
    report = cb.compact(grace_seconds=0, purge_deleted=True)
    print(json.dumps({"kept": kept.info.run_id, "gone": gone.info.run_id,
                      "purged": report.purged_runs, "snapshot": report.snapshot}))
else:
    catalog = store.read()
    print(json.dumps({
        "snapshot": catalog.snapshot,
        "notes": cb.sql("SELECT * FROM notes ORDER BY note_id").fetchall(),
        "runs": [r[0] for r in cb.sql("SELECT run_id FROM runs").fetchall()],
        "files": sorted(catalog.indexes["notes"].live),
    }))
"""


def test_a_declared_layer_s_table_is_merged_snapshotted_compacted_and_keeps_its_runs(
    tmp_path, run_python
):
    root = tmp_path / "store"
    written = json.loads(run_python(NOTES_LAYER, root, "write").stdout)
    assert written["purged"] == [written["gone"]]  # the noted run is kept
    assert written["snapshot"] is not None
    read = json.loads(run_python(NOTES_LAYER, root, "read").stdout)
    assert read["snapshot"] == written["snapshot"]  # a new reader starts from it
    assert read["notes"] == [
        ["n1", written["kept"], "first text", False],  # one row per key, the first wins
        ["n2", None, "loose", True],  # its event, resolved like every fact
    ]
    assert read["runs"] == [written["kept"]]
    (compacted,) = read["files"]  # the table's two files merged into one
    assert compacted.startswith("notes/exp=_notes/cmp-")


def test_a_process_that_imports_only_the_store_reads_the_registry_s_tables(store, run_python):
    """The package root runs first and imports the registry, which declares its tables."""
    run = cb.start_run()
    cb.end_run()
    client = cb.client()
    client.create_registered_model("m")
    client.create_model_version("m", f"runs:/{run.info.run_id}/model", run.info.run_id)
    code = """
    import sys
    from canvasback.store import open_store
    catalog = open_store(sys.argv[1]).read()
    print(catalog.rows("SELECT name, version FROM model_versions"))
    print("canvasback.registry.tables" in sys.modules)
    """
    lines = run_python(code, store).stdout.splitlines()
    assert lines == ["[('m', 1)]", "True"]


def _notes(**changes: object) -> Declaration:
    fields: dict[str, object] = {
        "name": "clashing",
        "partition": "_clashing",
        "tables": (Table("clash_notes", (("note_id", "VARCHAR"),), sort=(), keys=("note_id",)),),
    }
    fields.update(changes)
    return Declaration(**fields)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"tables": (schema.RUNS,)}, "table 'runs' exists"),
        ({"partition": "_registry"}, "partition '_registry' is 'registry''s"),
        ({"event_kinds": frozenset({"status"})}, "event kind 'status' exists"),
        ({"event_kinds": frozenset({"model_name"})}, "event kind 'model_name' exists"),
        ({"name": "registry"}, "a declaration named 'registry' exists"),
    ],
)
def test_a_declaration_that_clashes_is_refused_and_changes_nothing(changes, error):
    before = declarations.declared()
    with pytest.raises(ValueError, match=error):
        declare(_notes(**changes))
    assert declarations.declared() == before


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: _notes(partition="notes"), "its partition must start with _"),
        (lambda: _notes(partition="_writers"), "the partition '_writers' is the writers'"),
        (
            lambda: _notes(tables=(Table("t", (("a", "VARCHAR"),), sort=()),)),
            "table 't' has no natural key",
        ),
        (lambda: Table("t", (("a", "TEXT"),), sort=()), "column 'a' has type 'TEXT'"),
        (lambda: Table("t", (("a", "VARCHAR"),), sort=("b",)), "sort names no column 'b'"),
        (lambda: Table("T", (("a", "VARCHAR"),), sort=()), "its name must be lowercase"),
    ],
)
def test_a_malformed_declaration_says_what_is_wrong(make, error):
    with pytest.raises(ValueError, match=error):
        make()


def test_a_declaration_after_a_store_was_read_is_refused(tmp_path):
    Store(tmp_path / "store").read()
    with pytest.raises(RuntimeError, match="after a store was read"):
        declare(_notes(name="late", partition="_late"))
    assert "late" not in {d.name for d in declarations.declared()}


def test_the_registry_is_declared_with_its_tables_and_partition():
    (registry,) = (d for d in declarations.declared() if d.name == "registry")
    assert registry.partition == "_registry"
    assert [t.name for t in registry.tables] == [
        "registered_models",
        "model_versions",
        "model_aliases",
        "registry_hooks",
        "hook_deliveries",
    ]
    order = declarations.listing_order()
    assert order.index("model_versions") < order.index("runs")  # rows naming runs come first
    # A delivery names its hook, a hook its model: each listed before what it names.
    assert order.index("hook_deliveries") < order.index("registry_hooks")
    assert order.index("registry_hooks") < order.index("registered_models")


def test_listing_phases_keep_the_listing_order_between_steps():
    phases = declarations.listing_phases()
    assert [t for phase in phases for t in phase] == list(declarations.listing_order())
    first = set(phases[0])
    assert {"params", "metrics", "events", "artifacts", "inputs"} <= first
    assert first.isdisjoint({"runs", "experiments", "model_versions", "registered_models"})
    for later in phases[1:]:  # one at a time after the first step, in order
        assert len(later) == 1
    step = {t: i for i, phase in enumerate(phases) for t in phase}
    assert step["model_aliases"] < step["model_versions"] < step["registered_models"]
    assert step["registered_models"] < step["runs"] < step["experiments"]
