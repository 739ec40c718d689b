"""Read a canvasback store with DuckDB and the standard library alone.

A reference reader of ``docs/store-format.md``: it follows that document, imports
nothing of canvasback, and prints the store's experiments and runs (each run with its
attributes, params, latest metrics and tags) as JSON::

    python read_with_duckdb.py STORE                 # the newest snapshot and the tail
    python read_with_duckdb.py STORE --no-snapshot   # the segment files alone

It reads a store in a local folder, once: a file deleted between its listing and its
read (compaction's inputs go after a grace period of minutes) makes it fail, and it is
run again. Copy it and change what you need.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import duckdb

# The columns of the tables read here ("Tables" in the document).
COLUMNS: dict[str, str] = {
    "experiments": (
        "experiment_id VARCHAR, name VARCHAR, artifact_location VARCHAR, creation_time BIGINT"
    ),
    "runs": (
        "run_id VARCHAR, run_name VARCHAR, start_time BIGINT, parent_run_id VARCHAR, "
        "user_id VARCHAR, artifact_uri VARCHAR"
    ),
    "params": "run_id VARCHAR, key VARCHAR, value VARCHAR, timestamp BIGINT",
    "metrics": "run_id VARCHAR, key VARCHAR, step BIGINT, timestamp BIGINT, value DOUBLE",
    "events": (
        "entity_id VARCHAR, kind VARCHAR, key VARCHAR, value VARCHAR, timestamp BIGINT, "
        "writer VARCHAR, seq BIGINT"
    ),
}
# Rows that name a run are listed before the runs, the runs before the experiments.
LISTING_ORDER = ("params", "metrics", "events", "runs", "experiments")
# Each table's resolved rows in a snapshot, and the column naming their run.
SNAPSHOT_FILES = {
    "experiments": (("experiments",), None),
    "runs": (("runs",), "run_id"),
    "params": (("params",), "run_id"),
    "metrics": (("latest",), "run_id"),
    "events": (("state_runs", "state_other"), "entity_id"),
}
MANIFEST = re.compile(r"snap-(\d{12})\.json")
SNAPSHOT_FORMAT = 2
MAX_NESTING = 8  # compacted files of compacted files: how deep a remainder is followed

# One row per natural key (the snapshot's first); the first param by (timestamp, value);
# the latest metric by (step, timestamp, value), NaN above every number (as DuckDB
# orders it); the latest fact by (timestamp, writer, seq).
RESOLVE = """
CREATE TABLE experiments AS SELECT * FROM all_experiments
    QUALIFY row_number() OVER (PARTITION BY experiment_id ORDER BY source) = 1;
CREATE TABLE runs AS SELECT * FROM all_runs
    QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY source) = 1;
CREATE TABLE params AS SELECT * FROM all_params
    QUALIFY row_number() OVER (PARTITION BY run_id, key ORDER BY timestamp, value) = 1;
CREATE TABLE latest AS SELECT * FROM all_metrics
    QUALIFY row_number() OVER (
        PARTITION BY run_id, key ORDER BY step DESC, timestamp DESC, value DESC) = 1;
CREATE TABLE facts AS SELECT * FROM all_events
    QUALIFY row_number() OVER (
        PARTITION BY entity_id, kind, key ORDER BY timestamp DESC, writer DESC, seq DESC) = 1;
"""

# A run's attributes (its name: a rename's mlflow.runName tag, else its row's); a
# RUNNING run whose writer showed no sign of life for six of its
# heartbeat intervals (10 s if it recorded none) is shown KILLED.
RUNS = """
WITH resolved AS (
    SELECT r.* REPLACE (coalesce(n.value, r.run_name) AS run_name), s.value AS status,
           TRY_CAST(e.value AS BIGINT) AS end_time,
           coalesce(l.value, 'active') AS lifecycle_stage,
           greatest(s.timestamp, TRY_CAST(h.value AS BIGINT)) AS last_seen,
           CASE WHEN TRY_CAST(i.value AS DOUBLE) > 0 AND TRY_CAST(i.value AS DOUBLE) < 1e9
                THEN CAST(TRY_CAST(i.value AS DOUBLE) * 1000 AS BIGINT) END AS heartbeat_ms
    FROM runs r
    LEFT JOIN facts s ON s.entity_id = r.run_id AND s.kind = 'status' AND s.key = ''
    LEFT JOIN facts h ON h.entity_id = s.writer AND h.kind = 'heartbeat' AND h.key = ''
    LEFT JOIN facts i ON i.entity_id = s.writer AND i.kind = 'heartbeat_interval' AND i.key = ''
    LEFT JOIN facts e ON e.entity_id = r.run_id AND e.kind = 'end_time' AND e.key = ''
    LEFT JOIN facts l ON l.entity_id = r.run_id AND l.kind = 'lifecycle' AND l.key = ''
    LEFT JOIN facts n ON n.entity_id = r.run_id AND n.kind = 'tag' AND n.key = 'mlflow.runName'
)
SELECT run_id, experiment_id, run_name,
       CASE WHEN status = 'RUNNING'
             AND last_seen < epoch_ms(now()) - 6 * coalesce(heartbeat_ms, 10000)
            THEN 'KILLED' ELSE status END AS status,
       start_time, end_time, lifecycle_stage, parent_run_id, user_id
FROM resolved
"""

# An experiment's name and stage are the facts under the greatest key.
EXPERIMENTS = """
SELECT x.experiment_id, coalesce(n.value, x.name) AS name,
       coalesce(l.value, 'active') AS lifecycle_stage
FROM experiments x
LEFT JOIN (SELECT entity_id, arg_max(value, key) AS value FROM facts
           WHERE kind = 'experiment_name' GROUP BY entity_id) n
     ON n.entity_id = x.experiment_id
LEFT JOIN (SELECT entity_id, arg_max(value, key) AS value FROM facts
           WHERE kind = 'experiment_lifecycle' GROUP BY entity_id) l
     ON l.entity_id = x.experiment_id
"""


def read_json(path: Path) -> Any:  # a manifest or a sidecar: JSON of any shape
    """A small JSON file, or None if it is missing or not JSON."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def sidecar_of(root: Path, rel: str) -> Any:  # JSON of any shape
    """What a compacted file replaces (its ``.inputs.json``), or None."""
    return read_json(root / (rel.removesuffix(".parquet") + ".inputs.json"))


def live_files(root: Path, table: str) -> tuple[set[str], dict[str, dict[str, Any]]]:
    """A table's live files (store-relative), and its compacted files in force."""
    present: set[str] = set()
    sidecars: dict[str, dict[str, Any]] = {}
    folder = root / table
    for partition in sorted(folder.glob("exp=*")) if folder.is_dir() else ():
        for file in partition.iterdir():
            name, rel = file.name, f"{table}/{partition.name}/{file.name}"
            if not name.startswith(("seg-", "cmp-")) or not name.endswith(".parquet"):
                continue  # a sidecar, or a temporary file (its name starts with ".")
            if name.startswith("cmp-"):
                sidecar = sidecar_of(root, rel)
                if not isinstance(sidecar, dict):
                    continue  # a compacted file appears after its sidecar: this is none
                sidecars[rel] = sidecar
            present.add(rel)
    replaced: set[str] = set()
    accepted: dict[str, dict[str, Any]] = {}
    for rel in sorted(sidecars):  # oldest first: one overlapping an earlier one is ignored
        if set(sidecars[rel]["inputs"]) & replaced:
            continue
        accepted[rel] = sidecars[rel]
        replaced |= set(sidecars[rel]["inputs"])
    live = {r for r in present if r not in replaced and (r in accepted or r not in sidecars)}
    return live, accepted


def remainder(
    root: Path, sidecar: dict[str, Any], covered: set[str], depth: int = 0
) -> list[str] | None:
    """The files holding exactly the rows of a compacted file that ``covered`` files lack.

    None: read the compacted file whole (no input is covered, one is gone, it purged
    runs, or it nests too deep); the rules keep a row read twice once.
    """
    inputs = set(sidecar["inputs"])
    if inputs <= covered:
        return []
    if not inputs & covered or sidecar.get("purged_run_ids") or depth > MAX_NESTING:
        return None
    files: list[str] = []
    for rel in sidecar["inputs"]:
        if rel in covered:
            continue
        if not (root / rel).is_file():
            return None
        nested = sidecar_of(root, rel) if rel.rsplit("/", 1)[1].startswith("cmp-") else None
        rest = remainder(root, nested, covered, depth + 1) if isinstance(nested, dict) else None
        files += [rel] if rest is None else rest
    return files


def files_to_read(root: Path, table: str, covered: set[str]) -> tuple[list[str], set[str]]:
    """A table's files whose rows the snapshot lacks, each row once; and the runs purged."""
    live, accepted = live_files(root, table)
    files: list[str] = []
    purged: set[str] = set()
    for rel in sorted(live - covered):
        sidecar = accepted.get(rel)
        if sidecar is None:
            files.append(rel)
            continue
        purged |= set(sidecar.get("purged_run_ids", []))
        rest = remainder(root, sidecar, covered)
        files += [rel] if rest is None else rest
    return files, purged


def newest_snapshot(root: Path) -> dict[str, Any] | None:
    """The newest snapshot's manifest, if its files are there as it says; else None."""
    folder = root / "_snapshots"
    names = (
        [p.name for p in folder.iterdir() if MANIFEST.fullmatch(p.name)] if folder.is_dir() else []
    )
    for name in sorted(names, reverse=True):  # the highest generation first
        manifest = read_json(folder / name)
        if not isinstance(manifest, dict) or manifest.get("format") != SNAPSHOT_FORMAT:
            continue
        own = re.fullmatch(rf"{name.removesuffix('.json')}-[0-9a-f]{{8}}-\w*", manifest["folder"])
        files = folder / manifest["folder"]
        if own and all(
            (files / file).is_file() and (files / file).stat().st_size == size["bytes"]
            for file, size in manifest["files"].items()
        ):
            return manifest | {"path": files}
    return None


def read_store(store: str, *, use_snapshot: bool = True) -> dict[str, Any]:
    """The store's experiments and runs, resolved as the document says."""
    root = Path(store)
    snapshot = newest_snapshot(root) if use_snapshot else None
    covered = {t: set(rels) for t, rels in (snapshot or {}).get("covered", {}).items()}
    tails: dict[str, list[str]] = {}
    purged: set[str] = set()
    for table in LISTING_ORDER:  # every table is listed before any is read
        tails[table], gone = files_to_read(root, table, covered.get(table, set()))
        purged |= gone
    con = duckdb.connect()
    for table in LISTING_ORDER:
        _load(con, root, snapshot, table, tails[table], sorted(purged))
    con.execute(RESOLVE)
    return {"experiments": _experiments(con), "runs": _runs(con)}


def _load(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    snapshot: dict[str, Any] | None,
    table: str,
    rels: list[str],
    purged: list[str],
) -> None:
    """``all_<table>``: the snapshot's rows (``source`` 0) and the tail's (1)."""
    own_id = table == "experiments"  # its rows carry their id; the others' is the partition
    columns = COLUMNS[table] if own_id else f"experiment_id VARCHAR, {COLUMNS[table]}"
    names = [column.split()[0] for column in columns.split(", ")]
    con.execute(f"CREATE TABLE all_{table} ({columns}, source INTEGER)")
    stems, run_column = SNAPSHOT_FILES[table]
    for stem in stems if snapshot is not None else ():
        path = str(snapshot["path"] / f"{stem}.parquet")  # type: ignore[index]
        kept = f"WHERE NOT list_contains($purged, {run_column})" if run_column else ""
        con.execute(
            f"INSERT INTO all_{table} SELECT {', '.join(names)}, 0 FROM read_parquet($path) {kept}",
            {"path": path, "purged": purged} if run_column else {"path": path},
        )
    if rels:
        # The partition is the folder (exp=<id>), read as text: ids are not numbers.
        partition = [] if own_id else ["exp AS experiment_id"]
        selected = partition + [n for n in names if own_id or n != "experiment_id"]
        con.execute(
            f"INSERT INTO all_{table} SELECT {', '.join(selected)}, 1 FROM read_parquet($paths, "
            "hive_partitioning = true, hive_types = {'exp': VARCHAR})",
            {"paths": [str(root / rel) for rel in rels]},
        )


def _runs(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Each run's attributes, params, latest metrics and tags."""
    result = con.execute(RUNS)
    names = [d[0] for d in result.description]
    out: dict[str, Any] = {}
    for row in result.fetchall():
        run = dict(zip(names, row, strict=True))
        run_id = run.pop("run_id")
        out[run_id] = {**run, "params": {}, "metrics": {}, "tags": {}}
    for field, sql in (
        ("params", "SELECT run_id, key, value FROM params"),
        ("metrics", "SELECT run_id, key, value FROM latest"),
        (
            "tags",
            "SELECT entity_id, key, value FROM facts WHERE kind = 'tag' AND value IS NOT NULL",
        ),
    ):
        for run_id, key, value in con.execute(sql).fetchall():
            if run_id in out:
                out[run_id][field][key] = value
    return out


def _experiments(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Each experiment's name, stage and tags."""
    out: dict[str, Any] = {
        experiment_id: {"name": name, "lifecycle_stage": stage, "tags": {}}
        for experiment_id, name, stage in con.execute(EXPERIMENTS).fetchall()
    }
    tags = con.execute(
        "SELECT entity_id, key, value FROM facts "
        "WHERE kind = 'experiment_tag' AND value IS NOT NULL"
    )
    for experiment_id, key, value in tags.fetchall():
        if experiment_id in out:
            out[experiment_id]["tags"][key] = value
    return out


if __name__ == "__main__":
    arguments = sys.argv[1:]
    result = read_store(arguments[0], use_snapshot="--no-snapshot" not in arguments)
    sys.stdout.write(json.dumps(result, indent=1, sort_keys=True) + "\n")
