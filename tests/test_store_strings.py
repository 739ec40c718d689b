"""Store strings: one parser for every way a store is named, and what it refuses.

``set_store``, ``Client(store=...)``, ``set_tracking_uri``, ``CANVASBACK_STORE`` and
``MLFLOW_TRACKING_URI`` (and
the command line's ``--store``, in ``test_cli.py``) all go through
``_config.parse_store``. A scheme canvasback does not serve is refused with the value and
what is allowed, and never becomes a folder named after it; ``s3://bucket/prefix`` is
opened on object storage (on a real server in ``tests/store/test_s3_store.py``), never
as a folder of that name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import canvasback as cb
from canvasback._config import (
    MlflowStoreFolderError,
    S3Address,
    StoreAddressError,
    StoreNotYetSupportedError,
    parse_store,
)
from canvasback.tracking.client import Client


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("s3://team-bucket/runs/2026", S3Address("team-bucket", "runs/2026")),
        ("s3://team-bucket/runs/", S3Address("team-bucket", "runs")),
        ("s3://team-bucket", S3Address("team-bucket", "")),
        ("s3://b/team", S3Address("b", "team")),
        ("S3://team.bucket/x", S3Address("team.bucket", "x")),
    ],
)
def test_an_s3_address_is_a_bucket_and_a_prefix(value, address):
    assert parse_store(value) == address
    assert parse_store(address.url) == address


@pytest.mark.parametrize(
    ("value", "folder"),
    [
        ("store", "{cwd}/store"),
        ("./runs:2024", "{cwd}/runs:2024"),
        ("a/b:c", "{cwd}/a/b:c"),
        ("file:///data/my%20store", "/data/my store"),
        ("file://localhost/data/store", "/data/store"),
        ("canvasback:///data/store", "/data/store"),
        (Path("gs://x"), "{cwd}/gs:/x"),  # a Path is a path, whatever it looks like
    ],
)
def test_paths_and_file_uris_are_folders(value, folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_store(value) == Path(folder.format(cwd=tmp_path))


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("gs://bucket/x", "the scheme 'gs' is not one canvasback serves"),
        ("az://container/x", "the scheme 'az' is not one canvasback serves"),
        ("runs:2024", "a folder whose name has a colon is written ./name"),
        ("s3:/bucket/team", "an S3 address is written s3://bucket/prefix"),
        ("s3:bucket", "an S3 address is written s3://bucket/prefix"),
        ("s3://", "'' is not a bucket name"),
        ("s3:///prefix", "'' is not a bucket name"),
        ("s3://bad_/x", "'bad_' is not a bucket name"),
        ("s3://bucket/a//b", "the prefix 'a//b' has an empty, '.' or '..' component"),
        ("s3://bucket/a/../b", "the prefix 'a/../b' has an empty, '.' or '..' component"),
        ("s3://bucket/x?region=eu", "takes no query or fragment"),
        ("file://server/share", "a file: URI names a local path"),
    ],
)
def test_other_store_strings_are_refused_naming_the_value_and_what_is_allowed(value, why):
    with pytest.raises(StoreAddressError) as caught:
        parse_store(value)
    message = str(caught.value)
    assert repr(value) in message
    assert why in message
    assert "s3://bucket/prefix" in message
    assert "file: URI" in message


def test_credentials_in_an_address_are_refused_and_not_repeated():
    with pytest.raises(StoreAddressError, match="credentials do not go in the address") as caught:
        parse_store("s3://AKIDEXAMPLE:wJalrXUtnFEMI@bucket/team")
    assert "wJalrXUtnFEMI" not in str(caught.value)
    assert "AKIDEXAMPLE" not in str(caught.value)
    assert "'s3://***@bucket/team'" in str(caught.value)


@pytest.mark.parametrize("uri", ["http://localhost:5000", "databricks", "postgresql://db/x"])
def test_mlflow_servers_are_refused_with_the_import_command(uri):
    with pytest.raises(StoreAddressError, match=r"not a local store.*canvasback import-mlflow"):
        parse_store(uri)


def test_an_s3_store_is_opened_on_object_storage_never_as_a_folder(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("CANVASBACK_STORE", "s3://team-bucket/team")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKNOBODY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for attempt in (cb.set_store, Client, cb.get_store, lambda: cb.log_metric("loss", 1.0)):
        with pytest.raises(OSError, match=r"s3://team-bucket/team/_probe/") as caught:
            attempt()
        assert "not-a-secret" not in str(caught.value)
    assert list(work.iterdir()) == []  # no ./s3:/team-bucket/team folder


def test_an_unknown_scheme_in_the_environment_makes_no_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CANVASBACK_STORE", "gs://bucket/team")
    with pytest.raises(StoreAddressError, match=r"CANVASBACK_STORE 'gs://bucket/team'"):
        cb.log_metric("loss", 1.0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "use",
    [cb.set_store, Client, cb.set_tracking_uri],
    ids=["set_store", "Client", "set_tracking_uri"],
)
def test_every_entry_refuses_unknown_schemes(use, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreAddressError, match=r"'gs://bucket/x'.*not one canvasback serves"):
        use("gs://bucket/x")
    assert list(tmp_path.iterdir()) == []


def test_every_entry_takes_a_file_uri(tmp_path):
    folder = tmp_path / "a store"
    uri = folder.as_uri()
    assert cb.set_store(uri) == folder
    with cb.start_run() as run:
        cb.log_metric("loss", 1.0)
    assert Client(uri).get_run(run.info.run_id).data.metrics == {"loss": 1.0}
    cb.set_tracking_uri(uri)
    assert cb.get_store() == folder


@pytest.mark.parametrize("form", ["canvasback", "file", "path"])
def test_mlflow_tracking_uri_names_the_store_when_canvasback_store_does_not(
    form, tmp_path, monkeypatch
):
    """``import canvasback as mlflow`` logs where the script's MLflow setting says."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "team store"
    uri = {
        "canvasback": f"canvasback://{folder.as_posix()}",
        "file": folder.as_uri(),
        "path": str(folder),
    }[form]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert cb.get_store() == folder
    with cb.start_run() as run:
        cb.log_metric("loss", 1.0)
    assert Client().get_run(run.info.run_id).data.metrics == {"loss": 1.0}
    assert Client(folder).get_run(run.info.run_id).data.metrics == {"loss": 1.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["team store"]  # no default folder


def test_canvasback_store_then_set_store_come_before_mlflow_tracking_uri(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlflow's").as_uri())
    monkeypatch.setenv("CANVASBACK_STORE", str(tmp_path / "canvasback's"))
    assert cb.get_store() == tmp_path / "canvasback's"
    assert Client().store.root == tmp_path / "canvasback's"
    cb.set_store(tmp_path / "chosen")
    assert cb.get_store() == tmp_path / "chosen"


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:5000", "sqlite:///mlflow.db", "databricks", "postgresql://h/db"]
)
def test_an_mlflow_tracking_uri_of_a_server_or_database_is_an_error_saying_what_to_do(
    uri, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for attempt in (Client, cb.get_store, lambda: cb.log_metric("loss", 1.0)):
        with pytest.raises(StoreAddressError) as caught:
            attempt()
        message = str(caught.value)
        assert message.startswith(f"MLFLOW_TRACKING_URI {uri!r} is not a local store")
        assert f"canvasback import-mlflow {uri} --store" in message  # to bring its runs over
        assert "CANVASBACK_STORE=<path> or canvasback.set_store(<path>)" in message
    assert list(tmp_path.iterdir()) == []  # nothing logged to a default store instead


def test_an_mlflow_tracking_uri_on_object_storage_is_refused_naming_canvasback_store(
    tmp_path, monkeypatch
):
    """A store on object storage is named by CANVASBACK_STORE or set_store, not MLflow's URI."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "s3://team-bucket/team")
    for attempt in (Client, cb.get_store, lambda: cb.log_metric("loss", 1.0)):
        with pytest.raises(StoreNotYetSupportedError) as caught:
            attempt()
        message = str(caught.value)
        assert message.startswith("MLFLOW_TRACKING_URI 's3://team-bucket/team' is on S3")
        assert "name it in CANVASBACK_STORE instead" in message
    assert list(tmp_path.iterdir()) == []  # nothing logged to a default store instead


def test_an_mlflow_tracking_uri_of_an_mlflow_file_store_is_refused_with_the_import(
    tmp_path, monkeypatch
):
    mlruns = tmp_path / "mlruns"
    (mlruns / ".trash").mkdir(parents=True)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlruns.as_uri())
    with pytest.raises(MlflowStoreFolderError, match=r"canvasback import-mlflow .*mlruns"):
        cb.log_metric("loss", 1.0)
    assert sorted(p.name for p in mlruns.iterdir()) == [".trash"]
