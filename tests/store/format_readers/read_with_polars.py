"""Read a canvasback store with Polars and the standard library alone.

A reference reader of ``docs/store-format.md``: it follows that document, imports
nothing of canvasback, and prints the store's experiments and runs (each run with its
attributes, params, latest metrics and tags) as JSON::

    python read_with_polars.py STORE                 # the newest snapshot and the tail
    python read_with_polars.py STORE --no-snapshot   # the segment files alone

It reads a store in a local folder, once: a file deleted between its listing and its
read (compaction's inputs go after a grace period of minutes) makes it fail, and it is
run again. Copy it and change what you need.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

# The columns of the tables read here ("Tables" in the document).
_S, _I, _D = pl.String, pl.Int64, pl.Float64
COLUMNS: dict[str, dict[str, Any]] = {
    "experiments": {"experiment_id": _S, "name": _S, "artifact_location": _S, "creation_time": _I},
    "runs": {
        "run_id": _S,
        "run_name": _S,
        "start_time": _I,
        "parent_run_id": _S,
        "user_id": _S,
        "artifact_uri": _S,
    },
    "params": {"run_id": _S, "key": _S, "value": _S, "timestamp": _I},
    "metrics": {"run_id": _S, "key": _S, "step": _I, "timestamp": _I, "value": _D},
    "events": {
        "entity_id": _S,
        "kind": _S,
        "key": _S,
        "value": _S,
        "timestamp": _I,
        "writer": _S,
        "seq": _I,
    },
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
DEFAULT_HEARTBEAT_MS = 10_000
STALE_BEATS = 6


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
    rows = {
        t: pl.concat([_snapshot_rows(snapshot, t, purged), _tail_rows(root, t, tails[t])])
        for t in LISTING_ORDER
    }
    # One row per natural key (the snapshot's first); the first param by (timestamp,
    # value); the latest metric by (step, timestamp, value), NaN above every number;
    # the latest fact by (timestamp, writer, seq).
    experiments = rows["experiments"].unique("experiment_id", keep="first", maintain_order=True)
    runs = rows["runs"].unique("run_id", keep="first", maintain_order=True)
    params = (
        rows["params"]
        .sort("timestamp", "value")
        .unique(["run_id", "key"], keep="first", maintain_order=True)
    )
    latest = (
        rows["metrics"]
        .sort("step", "timestamp", "value")
        .unique(["run_id", "key"], keep="last", maintain_order=True)
    )
    facts = (
        rows["events"]
        .sort("timestamp", "writer", "seq")
        .unique(["entity_id", "kind", "key"], keep="last", maintain_order=True)
    )
    return {
        "experiments": _experiments(experiments, facts),
        "runs": _runs(runs, params, latest, facts),
    }


def _schema(table: str) -> dict[str, Any]:
    """A table's rows with the partition they were written to (``experiments``' is its id)."""
    return COLUMNS[table] if table == "experiments" else {"experiment_id": _S, **COLUMNS[table]}


def _snapshot_rows(snapshot: dict[str, Any] | None, table: str, purged: set[str]) -> pl.DataFrame:
    """A table's resolved rows in the snapshot, less those of runs purged since."""
    schema = _schema(table)
    if snapshot is None:
        return pl.DataFrame(schema=schema)
    stems, run_column = SNAPSHOT_FILES[table]
    frame = pl.concat(
        pl.read_parquet(snapshot["path"] / f"{stem}.parquet", columns=list(schema)).cast(schema)
        for stem in stems
    )
    return frame if run_column is None else frame.filter(~pl.col(run_column).is_in(list(purged)))


def _tail_rows(root: Path, table: str, rels: list[str]) -> pl.DataFrame:
    """The rows of segment files, with their partition (the folder ``exp=<id>``) as text."""
    schema = _schema(table)
    if not rels:
        return pl.DataFrame(schema=schema)
    files = pl.scan_parquet(
        [root / rel for rel in rels],
        hive_partitioning=False,
        glob=False,
        include_file_paths="_file",
    )
    partition = pl.col("_file").str.extract(r"[/\\]exp=([^/\\]+)[/\\][^/\\]+$")
    if table == "experiments":  # its rows carry their own id
        return files.select(*schema).collect()
    return files.select(partition.alias("experiment_id"), *COLUMNS[table]).collect()


def _fact(facts: pl.DataFrame, kind: str, name: str) -> pl.DataFrame:
    """One kind of fact with the key ``""``, per entity: its value, time and writer."""
    return facts.filter((pl.col("kind") == kind) & (pl.col("key") == "")).select(
        pl.col("entity_id"),
        pl.col("value").alias(name),
        pl.col("timestamp").alias(f"{name}_at"),
        pl.col("writer").alias(f"{name}_by"),
    )


def _runs(
    runs: pl.DataFrame, params: pl.DataFrame, latest: pl.DataFrame, facts: pl.DataFrame
) -> dict[str, Any]:
    """Each run's attributes (its status as the heartbeat rule shows it), params, metrics, tags."""
    writer = pl.col("entity_id").alias("status_by")  # a heartbeat's entity is a writer
    heartbeat = _fact(facts, "heartbeat", "beat").select(
        writer, pl.col("beat").cast(pl.Int64, strict=False)
    )
    seconds = pl.col("interval").cast(pl.Float64, strict=False)
    interval = _fact(facts, "heartbeat_interval", "interval").select(
        writer,
        pl.when((seconds > 0) & (seconds < 1e9))
        .then((seconds * 1000).round(0, mode="half_away_from_zero").cast(pl.Int64))
        .alias("heartbeat_ms"),
    )
    last_seen = pl.max_horizontal("status_at", "beat")
    patience = STALE_BEATS * pl.col("heartbeat_ms").fill_null(DEFAULT_HEARTBEAT_MS)
    renamed = facts.filter((pl.col("kind") == "tag") & (pl.col("key") == "mlflow.runName")).select(
        pl.col("entity_id").alias("run_id"), pl.col("value").alias("renamed")
    )
    now_ms = time.time_ns() // 1_000_000
    stale = (pl.col("status") == "RUNNING") & (last_seen < now_ms - patience)
    resolved = (
        runs.join(
            _fact(facts, "status", "status"), left_on="run_id", right_on="entity_id", how="left"
        )
        .join(heartbeat, on="status_by", how="left")
        .join(interval, on="status_by", how="left")
        .join(_fact(facts, "end_time", "end"), left_on="run_id", right_on="entity_id", how="left")
        .join(
            _fact(facts, "lifecycle", "stage"), left_on="run_id", right_on="entity_id", how="left"
        )
        .join(renamed, on="run_id", how="left")
        .with_columns(
            pl.coalesce("renamed", "run_name").alias("run_name"),
            pl.when(stale.fill_null(value=False))
            .then(pl.lit("KILLED"))
            .otherwise("status")
            .alias("status"),
            pl.col("end").cast(pl.Int64, strict=False).alias("end_time"),
            pl.col("stage").fill_null("active").alias("lifecycle_stage"),
        )
    )
    attributes = ("experiment_id", "run_name", "status", "start_time", "end_time")
    attributes += ("lifecycle_stage", "parent_run_id", "user_id")
    out: dict[str, Any] = {
        row["run_id"]: {
            **{a: row[a] for a in attributes},
            "params": {},
            "metrics": {},
            "tags": {},
        }
        for row in resolved.to_dicts()
    }
    tags = facts.filter((pl.col("kind") == "tag") & pl.col("value").is_not_null())
    for field, frame in (
        ("params", params.select("run_id", "key", "value")),
        ("metrics", latest.select("run_id", "key", "value")),
        ("tags", tags.select("entity_id", "key", "value")),
    ):
        for run_id, key, value in frame.iter_rows():
            if run_id in out:
                out[run_id][field][key] = value
    return out


def _experiments(experiments: pl.DataFrame, facts: pl.DataFrame) -> dict[str, Any]:
    """Each experiment's name and stage (the facts under the greatest key), and tags."""

    def under_greatest_key(kind: str, name: str) -> pl.DataFrame:
        return (
            facts.filter(pl.col("kind") == kind)
            .sort("key")
            .group_by("entity_id", maintain_order=True)
            .last()
            .select(pl.col("entity_id").alias("experiment_id"), pl.col("value").alias(name))
        )

    resolved = (
        experiments.join(
            under_greatest_key("experiment_name", "renamed"), on="experiment_id", how="left"
        )
        .join(under_greatest_key("experiment_lifecycle", "stage"), on="experiment_id", how="left")
        .with_columns(
            pl.coalesce("renamed", "name").alias("name"),
            pl.col("stage").fill_null("active").alias("lifecycle_stage"),
        )
    )
    out: dict[str, Any] = {
        row["experiment_id"]: {
            "name": row["name"],
            "lifecycle_stage": row["lifecycle_stage"],
            "tags": {},
        }
        for row in resolved.to_dicts()
    }
    tags = facts.filter((pl.col("kind") == "experiment_tag") & pl.col("value").is_not_null())
    for experiment_id, key, value in tags.select("entity_id", "key", "value").iter_rows():
        if experiment_id in out:
            out[experiment_id]["tags"][key] = value
    return out


if __name__ == "__main__":
    arguments = sys.argv[1:]
    result = read_store(arguments[0], use_snapshot="--no-snapshot" not in arguments)
    sys.stdout.write(json.dumps(result, indent=1, sort_keys=True) + "\n")
