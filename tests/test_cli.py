"""The ``canvasback`` command, run as users run it: ``python -m canvasback`` in a process.

Every bad invocation exits with status 2 and one line on stderr naming the problem;
nothing is written anywhere. Good ones keep working on a real store.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression

import canvasback as cb
from canvasback import registry, sklearn
from canvasback.tracking.client import Client

pytestmark = pytest.mark.slow  # each test runs `python -m canvasback` in a child process


def canvasback(*args, env=None, cwd=None):
    # The command sees only the store a test names: never one the calling shell chose.
    base = {k: v for k, v in os.environ.items() if k != "CANVASBACK_STORE"}
    return subprocess.run(
        [sys.executable, "-m", "canvasback", *map(str, args)],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd,
        check=False,
        timeout=120,
    )


def refused(result, *words):
    """Status 2, nothing on stdout, one line on stderr holding every word."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _tree(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "MLproject").write_text(
        "name: p\nentry_points:\n  main:\n    command: \"python -c 'print(42)'\"\n"
    )
    return root


COMMANDS = (
    "runs",
    "sql",
    "models",
    "hooks",
    "export",
    "run",
    "import-mlflow",
    "import-tensorboard",
    "compact",
    "gc",
    "recover",
)
SUBCOMMANDS = {"hooks": ("list", "retry")}  # a group's commands take --store, not the group


def test_the_help_says_what_canvasback_is_and_lists_its_commands():
    result = canvasback("--help")
    assert result.returncode == 0, result.stderr
    assert "experiment tracker and model registry" in result.stdout
    listed = result.stdout.split("Commands:")[1].split("Examples:")[0]
    # Every command, in an order that reads (not by name), each summary whole.
    names = [m.group(1) for m in re.finditer(r"^  (\S+)  +\S", listed, re.MULTILINE)]
    assert names == list(COMMANDS)
    assert "..." not in listed
    assert 'canvasback runs -x digits-sgd -o "metrics.val_acc DESC"' in result.stdout
    for command in COMMANDS:
        for args in [[command, sub] for sub in SUBCOMMANDS.get(command, ())] or [[command]]:
            shown = canvasback(*args, "--help")
            assert shown.returncode == 0, shown.stderr
            assert "--store" in shown.stdout, args
    for command, words in (
        ("run", ("--entry-point", "KEY=VALUE", "--store")),
        ("recover", ()),
        ("runs", ("--filter", "--order-by", "--max", "--experiment", "--columns")),
        ("export", ("--format", "--out", "--run", "parquet|csv")),
    ):
        shown = canvasback(command, "--help")
        assert shown.returncode == 0, shown.stderr
        assert f"Usage: canvasback {command}" in shown.stdout
        for word in words:
            assert word in shown.stdout
    assert canvasback().stdout == result.stdout  # a bare `canvasback` shows the same help


def test_the_version():
    result = canvasback("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"canvasback, version {version('canvasback')}"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["bogus"], ["canvasback:", "No such command 'bogus'", "canvasback --help"]),
        (["run"], ["canvasback run:", "Missing argument 'PATH'"]),
        (["run", "x.ipynb", "--bogus"], ["canvasback run:", "No such option '--bogus'"]),
        (["recover", "a", "b"], ["canvasback recover:", "unexpected extra argument (b)"]),
        (["run", "x.ipynb", "-P", "lr"], ["canvasback run:", "'lr'", "key=value"]),
    ],
)
def test_a_bad_command_line_is_one_line_and_status_2(args, words, tmp_path):
    refused(canvasback(*args, cwd=tmp_path), *words)
    assert _tree(tmp_path) == []  # not even a default store was made


def test_recover_refuses_what_is_no_store(tmp_path):
    missing = tmp_path / "missing"
    refused(canvasback("recover", missing), str(missing), "no such folder")
    assert not missing.exists()
    other = tmp_path / "papers"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    refused(canvasback("recover", other), str(other), "holds no canvasback store")
    refused(canvasback("recover", "/"), "'/'", "holds no canvasback store")
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(canvasback("recover", empty), "an empty folder")
    refused(canvasback("recover", "http://localhost:5000"), "http://localhost:5000", "not a local")
    refused(canvasback("recover", other / "notes.txt"), "notes.txt", "is a file")
    long_path = "/" + "x" * 5000
    line = refused(canvasback("recover", long_path), "5001 characters", "too long")
    assert len(line) < 300
    # Nothing was written anywhere.
    assert _tree(tmp_path) == [Path("empty"), Path("papers"), Path("papers/notes.txt")]
    refused(
        canvasback("recover", env={"CANVASBACK_STORE": str(other / "notes.txt")}),
        "the default store",
        "is a file",
    )


def test_recover_works_on_a_store(store):
    root = store
    with cb.start_run():
        cb.log_metric("loss", 1.0)
    cb.flush()
    result = canvasback("recover", root)
    assert result.returncode == 0, result.stderr
    assert f"wrote 0 row(s) in 0 file(s) to {root}" in result.stdout
    as_option = canvasback("recover", "--store", root)  # as every other command takes it
    assert as_option.returncode == 0, as_option.stderr
    assert as_option.stdout == result.stdout
    refused(canvasback("recover", root, "--store", root / "other"), "two stores given")
    # A short folder: a long path (a pytest-xdist worker's) is shortened in the message.
    with tempfile.TemporaryDirectory(prefix="cb-") as folder:
        result = canvasback("recover", cwd=folder)  # ./canvasback-store: none here
    refused(result, "the default store", "canvasback-store", "no such folder")


def test_run_refuses_a_store_that_is_a_file_or_another_folder(tmp_path, project):
    file = tmp_path / "store.txt"
    file.write_text("not a store")
    refused(canvasback("run", project, "--store", file), "canvasback run:", "is a file")
    refused(canvasback("run", project, "--store", file / "below"), "inside a file")
    refused(canvasback("run", project, "--store", "/"), "'/'", "holds no canvasback store")
    refused(canvasback("run", project, "--store", "http://x"), "http://x", "not a local")
    assert file.read_text() == "not a store"


def test_a_store_of_another_scheme_is_refused(tmp_path, project):
    # A store on object storage works (tests/store/test_s3_store.py); gs:// is no store.
    refused(
        canvasback("run", project, "--store", "gs://bucket/x", cwd=tmp_path),
        "canvasback run: store 'gs://bucket/x'",
        "the scheme 'gs' is not one canvasback serves",
    )
    refused(
        canvasback("import-mlflow", tmp_path, "--store", "gs://bucket/x", cwd=tmp_path),
        "'gs://bucket/x'",
        "the scheme 'gs' is not one canvasback serves",
    )
    assert _tree(tmp_path) == [Path("project"), Path("project/MLproject")]  # no store made


def test_run_makes_its_store_in_a_new_folder(store, project):
    assert not store.exists()
    result = canvasback("run", project, "--store", store / "below")
    assert result.returncode == 0, result.stderr
    assert "FINISHED" in result.stdout
    assert len(Client(store / "below").search_runs_frame(["0"])) == 1


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("command = 3", ["command = 3", "string"]),
        ('notebook = ["a.ipynb"]', ["notebook = ['a.ipynb']", "string"]),
        ('script = ""', ["script = ''", "non-empty string"]),
        ('comand = "python x.py"', ["'comand'", "notebook, script, command, parameters"]),
        (
            'command = "python x.py"\nparameters = { lr = { type = 3 } }',
            ["type = 3", "'lr'", "float"],
        ),
        (
            'command = "python x.py"\nparameters = { lr = { type = "float", default = "high" } }',
            ["'high'", "'lr'", "type float"],
        ),
    ],
)
def test_run_refuses_a_canvasback_toml_of_the_wrong_types(tmp_path, entry, words):
    root = tmp_path / "project"
    root.mkdir()
    (root / "canvasback.toml").write_text(f"[entry_points.main]\n{entry}\n")
    store = tmp_path / "store"
    # Checked when the file is read: even a default that -P replaces.
    refused(canvasback("run", root, "-P", "lr=0.1", "--store", store), "canvasback run:", *words)
    assert not store.exists()  # nothing ran, so no store was made


# -- run: what a notebook's or a project's run says ---------------------------------------
def test_run_names_the_experiment(tmp_path, project):
    store = tmp_path / "store"
    result = canvasback("run", project, "--store", store, "--experiment", "digits")
    assert result.returncode == 0, result.stderr
    experiment = Client(store).get_experiment_by_name("digits")
    assert f"in experiment 'digits' (id {experiment.experiment_id})" in result.stdout


def test_a_relative_path_parameter_is_read_from_the_current_folder(tmp_path):
    project = tmp_path / "regression"
    project.mkdir()
    (project / "d.csv").write_text("x\n1\n")
    (project / "MLproject").write_text(
        "name: r\nentry_points:\n  validate:\n    parameters:\n      data_file: path\n"
        "    command: \"python -c 'import sys; print(open(sys.argv[1]).read())' {data_file}\"\n"
    )
    store = tmp_path / "store"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    args = ("run", project, "-e", "validate", "-P", "data_file=d.csv", "--store", store)
    refused(
        canvasback(*args, cwd=elsewhere),
        f"no such file or folder '{elsewhere / 'd.csv'}'",
        "a relative path is read from the current folder, as in MLflow",
    )
    ran = canvasback(*args, cwd=project)  # from the project folder, as the README says
    assert ran.returncode == 0, ran.stderr
    run = Client(store).search_runs_frame([Client(store).experiment_id_for("Default")])
    assert run["params.data_file"].tolist() == [str(project / "d.csv")]


# -- the commands that read a store: runs, sql, models, export ------------------------------
@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A store with two experiments, five runs (one deleted) and a registered model."""
    root = tmp_path_factory.mktemp("filled") / "store"
    client = registry.Client(root)
    digits = client.create_experiment("digits")
    other = client.create_experiment("other")
    ids = {}
    for name, experiment, acc, lr in (
        ("low", digits, 0.5, 0.1),
        ("high", digits, 0.9, 0.01),
        ("mid", digits, 0.7, 0.03),
        ("[red]marked", other, 0.6, 0.3),  # rich markup in a name shows as written
        ("gone", other, 0.99, 0.5),
    ):
        run = client.create_run(experiment, run_name=name, params={"lr": lr})
        for step in range(3):
            client.log_metric(run.info.run_id, "acc", acc - 0.1 * (2 - step), step=step)
        client.set_terminated(run.info.run_id)
        ids[name] = run.info.run_id
    client.delete_run(ids["gone"])
    folder = tmp_path_factory.mktemp("model") / "model"
    sklearn.save_model(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), folder)
    client.log_artifacts(ids["high"], folder, "model")
    version = client.register_model(f"runs:/{ids['high']}/model", "digits")
    client.set_registered_model_alias("digits", "champion", version.version)
    client.flush()
    return root, ids


def _wide(*args):
    # A pipe: the table is as wide as its rows, every column shown.
    return canvasback(*args)


def test_runs_lists_filters_and_orders_as_search_runs(filled):
    root, ids = filled
    result = _wide("runs", "--store", root, "-x", "digits", "-o", "metrics.acc DESC", "-n", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index(ids["high"]) < out.index(ids["mid"])  # ordered by acc, best first
    assert ids["low"] not in out  # --max 2
    assert "2 runs; more match (raise --max)" in out
    for column in ("run_id", "run_name", "status", "metrics.acc", "params.lr", "start_time"):
        assert column in out
    assert "experiment" not in out.split("\n")[2]  # one experiment: no column for it
    filtered = _wide(
        "runs",
        "--store",
        root,
        "-f",
        "params.lr < 0.05 or tags.mlflow.runName = '[red]marked'",
        "-c",
        "run_name,experiment,metrics.acc",
    )
    assert filtered.returncode == 0, filtered.stderr
    names = [n for n in ("high", "mid", "low", "[red]marked") if f" {n} " in filtered.stdout]
    assert names == ["high", "mid", "[red]marked"]  # newest first: search_runs' default
    assert "run_id" not in filtered.stdout
    assert " other " in filtered.stdout  # the experiment's name
    assert "3 runs" in filtered.stdout
    assert ids["gone"] not in _wide("runs", "--store", root).stdout  # deleted: not listed


def test_runs_refuses_a_bad_filter_experiment_column_or_count(filled):
    root, _ = filled
    refused(
        canvasback("runs", "--store", root, "-f", "metrics.acc >> 1"),
        "canvasback runs:",
        "Invalid filter at position 13: expected a value",
    )
    refused(
        canvasback("runs", "--store", root, "-x", "nope"),
        "no experiment named 'nope'",
        "'digits', 'other'",
    )
    refused(
        canvasback("runs", "--store", root, "-c", "run_name,metrics.loss"),
        "no column 'metrics.loss'",
        "metrics.acc",
    )
    refused(canvasback("runs", "--store", root, "-n", "-1"), "--max -1")
    refused(canvasback("runs", "--store", root / "missing"), "no such folder")


def test_sql_prints_a_query_and_refuses_what_sql_refuses(filled, tmp_path):
    root, _ = filled
    result = canvasback(
        "sql",
        "SELECT r.run_name, max(m.value) AS best FROM runs r JOIN metrics m USING (run_id) "
        "GROUP BY r.run_name ORDER BY best DESC",
        "--store",
        root,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "│" in line]
    assert [line.split("│")[1].strip() for line in lines] == [
        "gone",
        "high",
        "mid",
        "[red]marked",
        "low",
    ]
    assert "5 rows" in result.stdout
    target = tmp_path / "out.csv"
    refused(
        canvasback("sql", f"COPY runs TO '{target}'", "--store", root),
        "canvasback sql:",
        "does not run the statement",
        "COPY",
    )
    assert not target.exists()
    refused(canvasback("sql", "SELECT * FROM nope", "--store", root), "Catalog Error", "nope")


def test_models_lists_the_registry_and_one_models_versions(filled):
    root, ids = filled
    listed = _wide("models", "--store", root)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if " digits " in line)
    assert "@champion: 1" in row
    versions = _wide("models", "digits", "--store", root)
    assert versions.returncode == 0, versions.stderr
    row = next(line for line in versions.stdout.splitlines() if ids["high"] in line)
    assert "@champion" in row
    assert "READY" in row
    refused(canvasback("models", "churn", "--store", root), "'churn'", "digits")


def test_hooks_list_shows_each_hook_and_refuses_a_model_that_is_none(tmp_path):
    root = tmp_path / "store"
    client = registry.Client(root)
    client.create_registered_model("churn")
    client.add_hook(["alias_moved", "version_created"], "https://ci.example.com/deploy")
    client.add_hook("tag_set", ["./notify", "--quiet"], name="churn")
    client.flush()

    shown = _wide("hooks", "list", "--store", root)

    assert shown.returncode == 0, shown.stderr
    rows = {
        h.hook_id: next(r for r in shown.stdout.splitlines() if h.hook_id in r)
        for h in client.list_hooks()
    }
    assert len(rows) == 2
    every, churn = rows.values()
    assert "alias_moved, version_created" in every
    assert "https://ci.example.com/deploy" in every
    assert " * " in every  # every model
    assert "./notify --quiet" in churn
    assert " churn " in churn
    refused(canvasback("hooks", "list", "--model", "fraud", "--store", root), "'fraud'", "churn")


def test_export_writes_runs_or_one_runs_metrics(filled, tmp_path):
    root, ids = filled
    out = tmp_path / "runs.parquet"
    result = canvasback("export", "--store", root, "--out", out, "-x", "digits")
    assert result.returncode == 0, result.stderr
    assert f"wrote 3 run(s) to {out} (parquet)" in result.stdout
    table = pq.read_table(out)
    expected = Client(root).search_runs_table([Client(root).experiment_id_for("digits")])
    assert table.column("run_id").to_pylist() == expected.column("run_id").to_pylist()
    assert table.column_names == expected.column_names
    history = tmp_path / "history.csv"
    result = canvasback("export", "--store", root, "--out", history, "--run", ids["mid"])
    assert result.returncode == 0, result.stderr
    points = pa_csv.read_csv(history)
    assert points.column_names == ["key", "step", "timestamp", "value"]
    assert points.column("step").to_pylist() == [0, 1, 2]
    assert points.column("value").to_pylist() == pytest.approx([0.5, 0.6, 0.7])
    forced = tmp_path / "runs.data"
    assert canvasback("export", "--store", root, "--out", forced, "--format", "csv").returncode == 0
    assert pa_csv.read_csv(forced).num_rows == 4  # every experiment's live runs
    refused(
        canvasback("export", "--store", root, "--out", tmp_path / "x.xlsx"), "'.xlsx'", "--format"
    )
    refused(
        canvasback("export", "--store", root, "--out", tmp_path / "y.csv", "--run", "f" * 32),
        "canvasback export:",
        "f" * 32,
    )
    refused(
        canvasback("export", "--store", root, "--out", tmp_path / "no" / "z.csv"),
        "no folder",
    )
    assert not (tmp_path / "x.xlsx").exists()
    assert not (tmp_path / "y.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "history.csv",
        "runs.data",
        "runs.parquet",
    ]


def test_in_a_terminal_the_columns_that_do_not_fit_are_named_not_folded(filled):
    root, ids = filled
    leader, follower = pty.openpty()
    base = {k: v for k, v in os.environ.items() if k != "CANVASBACK_STORE"}
    with subprocess.Popen(
        [sys.executable, "-m", "canvasback", "runs", "--store", root, "-x", "digits"],
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**base, "COLUMNS": "72", "LINES": "40"},
    ) as child:
        os.close(follower)
        shown = b""
        with contextlib.suppress(OSError):  # EIO: the child closed the terminal
            while chunk := os.read(leader, 65536):
                shown += chunk
        assert child.wait(timeout=120) == 0, child.stderr.read()
    os.close(leader)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode())
    lines = text.replace("\r", "").splitlines()
    assert max(len(line) for line in lines) <= 72
    assert ids["high"] in text  # an id is never folded
    assert "not shown (too wide for the terminal):" in text
    assert "start_time" in text.split("not shown")[1]  # named under the table


def test_compact_and_gc(tmp_path):
    root = tmp_path / "store"
    client = registry.Client(root)
    kept, dropped, registered = (
        client.create_run(None, run_name=n).info.run_id for n in ("kept", "dropped", "registered")
    )
    for run_id in (kept, dropped, registered):
        client.log_metric(run_id, "loss", 1.0)
        client.set_terminated(run_id)
    folder = tmp_path / "model"
    sklearn.save_model(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), folder)
    client.log_artifacts(registered, folder, "model")
    client.flush()
    client.register_model(f"runs:/{registered}/model", "kept-model")
    client.log_text(dropped, "bye", "notes.txt")
    client.delete_run(dropped)
    client.delete_run(registered)
    client.flush()
    compacted = canvasback("compact", "--store", root)
    assert compacted.returncode == 0, compacted.stderr
    assert "canvasback compact: merged" in compacted.stdout
    assert "wrote the snapshot snap-" in compacted.stdout
    assert Client(root).get_run(dropped).info.lifecycle_stage == "deleted"  # compact keeps it
    collected = canvasback("gc", "--store", root)
    assert collected.returncode == 0, collected.stderr
    assert "canvasback gc: purged 1 deleted run(s)" in collected.stdout
    assert f"purged: {dropped}" in collected.stdout
    assert f"kept 1 deleted run(s) that registered model versions come from: {registered}" in (
        collected.stdout
    )
    fresh = Client(root)
    with pytest.raises(cb.RunNotFoundError):
        fresh.get_run(dropped)
    assert fresh.get_run(kept).info.status == "FINISHED"
    assert not (root / "artifacts" / dropped).exists()
