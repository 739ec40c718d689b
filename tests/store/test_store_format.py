"""docs/store-format.md stays true: its tables, event kinds, claims and files are the code's.

The schema tables of the document are parsed and compared with the tables the code
declares (``store/schema.py`` and every declaration: a column added, renamed or retyped
without the document fails here), and so are its event kinds and claim namespaces.
Then the files of a store canvasback wrote (segments of every table, a compacted
file's sidecar, a snapshot's manifest and files) have the columns and keys the
document gives them.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import ipc

import canvasback as cb
from canvasback.registry import claims as registry_claims
from canvasback.registry import hooks as registry_hooks
from canvasback.store import declarations, schema
from canvasback.store.read import snapshots
from canvasback.tracking import client as tracking_client
from canvasback.tracking import experiment_claims, logged_models

DOC = Path(__file__).resolve().parents[2] / "docs" / "store-format.md"
_TICKED = re.compile(r"`([^`]*)`")
_BULLET = re.compile(r"^- \*\*(?P<what>[A-Za-z ]+)\*\*: (?P<rest>.*)$")


def _section(text: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same level or above."""
    level = heading.split(" ", 1)[0]
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", text[start:], re.MULTILINE)]
    return text[start : start + ends[0]] if ends else text[start:]


def _rows(text: str, header: str) -> list[list[str]]:
    """The rows of the markdown table with this header line, as cells."""
    lines = text.splitlines()
    at = lines.index(header)
    rows = []
    for line in lines[at + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _ticked(cell: str) -> list[str]:
    return _TICKED.findall(cell)


def documented_tables() -> dict[str, dict]:
    """Each table of the document's "Tables": columns with types, and its bullets."""
    tables = {}
    part = _section(DOC.read_text(), "## Tables")
    for match in re.finditer(r"^### `(?P<name>[a-z_]+)`$", part, re.MULTILINE):
        body = _section(part, match.group(0))
        bullets = {}
        for line in body.splitlines():
            bullet = _BULLET.match(line)
            if bullet:
                bullets[bullet["what"]] = tuple(_ticked(bullet["rest"]))
        tables[match["name"]] = {
            "columns": [
                (_ticked(name)[0], _ticked(kind)[0])
                for name, kind, _meaning in _rows(body, "| column | type | meaning |")
            ],
            **bullets,
        }
    return tables


def test_the_document_describes_every_declared_table_as_declared():
    documented = documented_tables()
    declared = declarations.tables()  # the store's own and every declared layer's

    assert sorted(documented) == sorted(t.name for t in declared)
    for table in declared:
        doc = documented[table.name]
        assert doc["columns"] == [(f.name, str(f.type)) for f in table.arrow_schema()], table.name
        assert doc["Sorted by"] == table.sort, table.name
        assert doc.get("Flush sorted by", ()) == table.flush_sort, table.name
        assert doc["Natural key"] == table.keys, table.name
        assert doc.get("First by", ()) == table.first_by, table.name
        assert doc["Run column"] == ((table.run_column,) if table.run_column else ()), table.name
        row_group = int(doc.get("Compacted row groups", ("131072",))[0])
        assert row_group == table.compacted_row_group, table.name


def test_the_document_names_every_event_kind():
    kinds = _rows(_section(DOC.read_text(), "## Events"), _EVENTS_HEADER)
    documented = [_ticked(kind)[0] for kind, *_ in kinds]

    declared = schema.EVENT_KINDS.union(*(d.event_kinds for d in declarations.declared()))
    assert sorted(documented) == sorted(declared)


_EVENTS_HEADER = "| kind | partition | `entity_id` | `key` | `value` |"


def test_the_document_names_every_claim_namespace():
    rows = _rows(_section(DOC.read_text(), "## Claims"), "| namespace | name | content |")
    documented = {name.split("/")[0] for cell, *_ in rows for name in _ticked(cell)}

    code = {
        experiment_claims.ID_CLAIMS,
        experiment_claims.NAME_CLAIMS,
        experiment_claims.EXPERIMENT_LOGS,
        registry_claims.NAME_CLAIMS,
        registry_claims.MODEL_LOGS,
        registry_claims.VERSION_CLAIMS,
        tracking_client.RUN_ID_CLAIMS,
        logged_models.NAMESPACE,
        logged_models.PATHS,
        logged_models.LOGS,
        logged_models.OUTPUTS,
        logged_models.INPUTS,
        registry_hooks.MARKER,
    }
    assert documented == code


def _write_every_table() -> None:
    with cb.start_run(run_name="one") as run:
        cb.log_param("lr", "0.1")
        cb.log_metric("loss", 0.5, step=1)
        cb.set_tag("team", "a")
        cb.log_text("hello", "notes/hello.txt")
        cb.log_input(cb.data.from_numpy(np.zeros(3), name="zeros"), context="training")
        cb.flush()  # then a second segment of metrics and events: something to compact
        cb.log_metric("loss", 0.4, step=2)
        cb.set_tag("team", "b")
    registry = cb.client()
    registry.create_model_version("churn", f"runs:/{run.info.run_id}/model", run.info.run_id)
    registry.add_hook("alias_moved", ["true"], name="churn", max_attempts=1)
    registry.set_registered_model_alias("churn", "champion", 1)
    deadline = time.monotonic() + 30  # the hook's attempt is logged off this thread
    while registry.get_hook_deliveries("churn")[0].status == "pending":
        assert time.monotonic() < deadline, "the hook's delivery was never attempted"
        time.sleep(0.01)


def _expected_columns(tokens: list[str], tables: dict[str, dict]) -> list[tuple[str, str]]:
    """A columns cell of the document (column and table names) as (name, type) pairs."""
    columns: list[tuple[str, str]] = []
    for token in tokens:
        columns += tables[token]["columns"] if token in tables else [(token, "string")]
    return columns


def _plain(kind: pa.DataType) -> str:
    return str(kind.value_type if pa.types.is_dictionary(kind) else kind)


def test_files_of_a_store_have_the_documented_columns_and_keys(store):
    _write_every_table()
    client = cb.client()
    report = client.compact()
    text = DOC.read_text()
    tables = documented_tables()

    # Segments: exactly their table's columns, with its types.
    segments = sorted(Path(store).glob("*/exp=*/seg-*.parquet"))
    assert {p.parts[-3] for p in segments} == set(tables)
    for path in segments:
        found = [(f.name, str(f.type)) for f in pq.read_schema(path)]
        assert found == tables[path.parts[-3]]["columns"], path

    # A compacted file's sidecar.
    sidecar_keys = [_ticked(k)[0] for k, _ in _rows(text, "| key | meaning |")[:3]]
    sidecar = json.loads(next(Path(store).glob("*/exp=*/cmp-*.inputs.json")).read_text())
    assert sorted(sidecar) == sorted(sidecar_keys)

    # The snapshot: its manifest's keys, and each file's columns.
    part = _section(text, "## Snapshots")
    manifest_keys = [_ticked(k)[0] for k, _ in _rows(part, "| key | meaning |")]
    manifest = json.loads((Path(store) / "_snapshots" / f"{report.snapshot}.json").read_text())
    assert sorted(manifest) == sorted(manifest_keys)
    folder = Path(store) / "_snapshots" / manifest["folder"]
    files = {
        _ticked(f)[0]: _ticked(c) for f, _rows_held, c in _rows(part, "| file | rows | columns |")
    }
    assert set(files) == snapshots.expected_files() == set(manifest["files"])
    for name, tokens in files.items():
        if name.endswith(".parquet"):
            found = [(f.name, str(f.type)) for f in pq.read_schema(folder / name)]
            assert found == _expected_columns(tokens, tables), name

    wide = ipc.open_file(pa.memory_map(str(folder / snapshots.WIDE_FILE))).schema
    documented = _rows(part, "| column | type | meaning |")
    fixed = [(_ticked(c)[0], _ticked(t)[0]) for c, t, _ in documented if c != "`k0`, `k1`, ..."]
    keys = [
        (column, "double" if kind == "DOUBLE" else "string")
        for _, column, kind in manifest["wide_columns"]
    ]
    assert [(f.name, _plain(f.type)) for f in wide] == fixed[:-1] + keys + fixed[-1:]
