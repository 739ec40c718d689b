"""A store on object storage through the faults of servers and networks: nothing lost or doubled.

The server is SeaweedFS behind the test proxy (``s3_proxy.py``), which drops
connections, loses answers, answers 500 and 503, cuts bodies short, delays answers and
refuses connections for a while; or SeaweedFS itself, stopped and started again. A
writer process logs params, metrics and tags and registers model versions before,
through and after each fault, while a reader process queries in a loop. Afterwards
every row is in the store exactly once (counted in the files themselves, where
nothing is merged away), or was kept in the spill folder, said so, and written once by
``canvasback recover``; versions are unique and gap-free; the reader, which may fail
during the fault, answers in full after it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from urllib.parse import quote

import pytest

import canvasback as cb
from canvasback._config import S3Address
from canvasback.registry import repair
from canvasback.store import open_store
from canvasback.store.fs.s3 import S3FileSystem
from canvasback.store.fs.s3_settings import RETRY_TIMEOUT_SECONDS, S3Settings
from canvasback.store.write.lifecycle import EXIT_SPILLED

pytestmark = pytest.mark.s3

VERSION_CLAIMS = "/claims/model-versions/"
PHASES = ("before", "during", "after")
PARAMS, TAGS, STEPS, VERSIONS = 5, 5, 300, 2
# Longer than the client's retry window (RETRY_TIMEOUT_SECONDS: a request is given up
# within it), so the writer's last flush fails for good and its rows really go to the
# spill folder; the spec's period is 30 s, this one is shorter to keep the test short.
REFUSAL_SECONDS = RETRY_TIMEOUT_SECONDS + 5.0
DELAY_SECONDS = 0.3  # each answer this late: slow, well within the client's timeouts
PATIENCE = 120.0  # seconds a step of a child may take, faults and all (a deadline)

WRITER = """
import json
import os
import sys
import time

os.environ["XDG_CACHE_HOME"] = sys.argv[2]  # a machine of its own: its cache, its spill
import canvasback as cb

url, model_uri, patient = sys.argv[1], sys.argv[3], sys.argv[4] == "patient"
PARAMS, TAGS, STEPS, VERSIONS = 5, 5, 300, 2


def say(**line):
    print(json.dumps(line), flush=True)


def register(phase, k):
    # A user's script registering through a fault: a failed call is tried again (with a
    # new attempt id), patiently, unless told to give up at once.
    for tries in range(1000):
        attempt = f"{phase}-{k}-{tries}"
        try:
            version = cb.register_model(model_uri, "shared", tags={"attempt": attempt})
        except OSError as exc:
            say(failed=attempt, error=f"{type(exc).__name__}: {exc}"[:300])
            if not patient:
                return None
            time.sleep(0.2)  # a retry's pause, not a wait for anything
            continue
        return attempt, int(version.version)


cb.set_store(url)
run = cb.start_run(run_name="through a fault")
say(run_id=run.info.run_id)
for phase in ("before", "during", "after"):
    if sys.stdin.readline().strip() != "go":
        break
    for i in range(PARAMS):
        cb.log_param(f"{phase}.p{i}", i)
    for i in range(TAGS):
        cb.set_tag(f"{phase}.t{i}", str(i))
    for step in range(STEPS):
        cb.log_metric(phase, float(step), step=step)
    say(logged=phase)
    registered = [register(phase, k) for k in range(VERSIONS)]
    say(phase=phase, versions=dict(r for r in registered if r is not None))
cb.end_run()
say(ended=True)
"""

READER = """
import json
import os
import sys
import time

os.environ["XDG_CACHE_HOME"] = sys.argv[2]  # a machine of its own
import canvasback as cb

PHASES = ("before", "during", "after")
client = cb.Client(sys.argv[1])
while True:
    began = time.time()
    try:
        runs = client.search_runs(["0"], filter_string="attributes.run_name = 'through a fault'")
        points, params, tags = {}, 0, 0
        for run in runs:
            params += sum(key.startswith(PHASES) for key in run.data.params)
            tags += sum(key.startswith(PHASES) for key in run.data.tags)
            for phase in PHASES:
                points[phase] = len(client.get_metric_history(run.info.run_id, phase))
        versions = client.search_model_versions("name = 'shared'")
    except Exception as exc:  # what any error is, said; the test judges
        error = f"{type(exc).__name__}: {exc}"[:300]
        print(json.dumps({"began": began, "error": error}), flush=True)
    else:
        answer = {"began": began, "runs": len(runs), "points": points, "params": params}
        answer |= {"tags": tags, "versions": len(versions)}
        print(json.dumps(answer), flush=True)
    time.sleep(0.05)  # a pause between queries, to leave the machine's cores to the others
"""


def _through(server, endpoint, address, tmp_path) -> S3FileSystem:
    settings = S3Settings.resolve(
        endpoint=endpoint,
        access_key_id=server.access_key,
        secret_access_key=server.secret_key,
        environ={},
    )
    return S3FileSystem(address, settings=settings, cache_dir=tmp_path / "cache", probe=False)


def test_a_create_whose_answer_was_lost_is_still_this_calls(
    seaweedfs, s3_proxy, s3_bucket, tmp_path
):
    proxy = s3_proxy()
    fs = _through(seaweedfs, proxy.endpoint, S3Address(s3_bucket, "team"), tmp_path)
    # The server creates it; the answer never comes; the client's retry is told 412.
    proxy.fail("drop-answer", count=1, methods=("PUT",))
    assert fs.create_exclusive("claims/names/a", b"mine")
    assert [(kind, method) for kind, method, _ in proxy.broken] == [("drop-answer", "PUT")]
    assert [m for m, p, _ in proxy.requests if p.endswith("/claims/names/a")][:2] == ["PUT", "PUT"]
    # Another call's create of the same name still loses, its answer lost or not.
    proxy.fail("drop-answer", count=1, methods=("PUT",))
    assert not fs.create_exclusive("claims/names/a", b"theirs")
    assert not fs.create_exclusive("claims/names/a", b"theirs")
    assert fs.read_bytes("claims/names/a") == b"mine"


def test_versions_whose_claims_lost_their_answers_are_numbered_without_gaps(
    s3_env, s3_bucket, s3_proxy, monkeypatch
):
    del s3_env
    proxy = s3_proxy()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
    cb.set_store(f"s3://{s3_bucket}/team")
    with cb.start_run() as run:
        cb.log_text("flavors: {}\n", "model/MLmodel")
    registered = []
    for _ in range(3):
        proxy.fail("drop-answer", count=1, methods=("PUT",), within=VERSION_CLAIMS)
        registered.append(int(cb.register_model(f"runs:/{run.info.run_id}/model", "m").version))
    assert len(proxy.broken) == 3
    assert registered == [1, 2, 3]
    listed = cb.client().search_model_versions("name = 'm'")
    assert sorted(int(v.version) for v in listed) == [1, 2, 3]


@pytest.mark.parametrize("refusal", ["bad credentials", "no such bucket"])
def test_a_refused_store_is_a_clear_error_at_once_that_names_it(
    refusal, s3_env, s3_bucket, s3_proxy, monkeypatch
):
    proxy = s3_proxy()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
    url = f"s3://{s3_bucket}/team"
    if refusal == "bad credentials":
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        kind, code, advice = PermissionError, "SignatureDoesNotMatch", "AWS_SECRET_ACCESS_KEY"
    else:
        url = f"s3://{s3_bucket}-missing/team"
        kind, code, advice = FileNotFoundError, "NoSuchBucket", "never creates a bucket"
    for opening in (cb.set_store, lambda u: cb.Client(u).search_runs(["0"])):
        asked = len(proxy.requests)
        with pytest.raises(kind) as caught:
            opening(url)
        assert len(proxy.requests) == asked + 1  # at once: refused, not asked again
        message = str(caught.value)
        assert message.startswith(f"Store {url!r}")
        assert code in message
        assert advice in message
        assert s3_env["AWS_SECRET_ACCESS_KEY"] not in message
        cb.reset()


def test_a_reader_whose_refresh_failed_midway_finds_everything_at_the_next(
    url, s3_proxy, monkeypatch
):
    writer = cb.Client(url)  # straight to the server
    run_id = writer.create_run("0").info.run_id
    writer.log_param(run_id, "a", 1)
    writer.flush()
    proxy = s3_proxy()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
    reader = cb.Client(url)  # through the proxy
    assert reader.get_run(run_id).data.params == {"a": "1"}
    writer.log_param(run_id, "b", 2)
    writer.set_tag(run_id, "t", "x")
    writer.log_metric(run_id, "m", 0.5, step=1)
    writer.flush()
    # The new params, tags and metrics are listed; then the listing of the runs, a later
    # step of the same refresh, is cut short, and the refresh fails.
    proxy.fail("cut", count=1, within=f"prefix={quote('team/runs/', safe='')}")
    with pytest.raises(OSError, match="list response body"):
        reader.get_run(run_id)
    assert [kind for kind, _, _ in proxy.broken] == ["cut"]
    got = reader.get_run(run_id)
    assert got.data.params == {"a": "1", "b": "2"}
    assert got.data.tags.get("t") == "x"
    assert got.data.metrics == {"m": 0.5}


# -- a writer and a reader through each fault --------------------------------------------
@pytest.fixture
def url(s3_env, s3_bucket, monkeypatch):
    del s3_env
    monkeypatch.setenv("CANVASBACK_HEARTBEAT_SECONDS", "3600")  # no heartbeat row to count
    return f"s3://{s3_bucket}/team"


def _model(url: str) -> str:
    """A run's model folder, logged straight to the server: what the writer registers."""
    cb.set_store(url)
    with cb.start_run(run_name="model") as run:
        cb.log_text("flavors: {}\n", "model/MLmodel")
    cb.flush()
    return f"runs:/{run.info.run_id}/model"


def _start(spawn_python, watched, tmp_path, url, model_uri, *, patient=True):
    writer = watched(
        spawn_python(
            WRITER,
            url,
            tmp_path / "writer",
            model_uri,
            "patient" if patient else "impatient",
            stdin=subprocess.PIPE,
        )
    )
    reader = watched(spawn_python(READER, url, tmp_path / "reader"))
    run_id = writer.until(lambda line: "run_id" in line, timeout=PATIENCE, what="the run")
    return writer, reader, run_id["run_id"]


def _go(writer, phase: str) -> None:
    writer.send("go")
    writer.until(lambda line: line.get("logged") == phase, timeout=PATIENCE, what=phase)


def _registered(writer, phase: str) -> dict[str, int]:
    done = writer.until(lambda line: line.get("phase") == phase, timeout=PATIENCE, what=phase)
    return done["versions"]


def _answered(reader, after: float) -> dict:
    """A whole answer of the reader to a query it began at ``after`` or later."""
    return reader.until(
        lambda line: "runs" in line and line["began"] >= after,
        timeout=PATIENCE,
        what="the reader to answer",
    )


def _failed(child, after: float | None = None) -> dict:
    return child.until(
        lambda line: (
            ("error" in line and line["began"] >= after) if after is not None else "failed" in line
        ),
        timeout=PATIENCE,
        what="the fault to be met",
    )


def _settled(server, url: str, run_id: str, phases, registered, reader) -> None:
    """Every row once, versions unique and gap-free, and the reader sees it all."""
    # Registrations that failed after their number's claim left a version without its
    # row; recover writes it (the writer has ended: no call is under way, so no grace).
    store = open_store(S3Address(url.removeprefix("s3://").split("/")[0], "team"))
    repair.recover_registry(store, grace_seconds=0)
    listed = cb.Client(url).search_model_versions("name = 'shared'")
    numbers = sorted(int(v.version) for v in listed)
    assert numbers == list(range(1, len(numbers) + 1))  # unique and gap-free
    attempts = [v.tags["attempt"] for v in listed]
    assert len(set(attempts)) == len(attempts)  # no registration made two versions
    by_number = {int(v.version): v.tags["attempt"] for v in listed}
    assert {by_number[number]: number for number in registered.values()} == registered
    model_id = store.fs.names("claims/model-versions")[0]
    assert len(store.fs.names(f"claims/model-versions/{model_id}")) == len(numbers)

    rows = {table: _files_rows(server, url, table) for table in ("params", "events", "metrics")}
    params = [r["key"] for r in rows["params"] if r["run_id"] == run_id]
    assert sorted(params) == sorted(f"{p}.p{i}" for p in phases for i in range(PARAMS))
    tags = [
        r["key"]
        for r in rows["events"]
        if r["entity_id"] == run_id and r["kind"] == "tag" and r["key"].startswith(PHASES)
    ]
    assert sorted(tags) == sorted(f"{p}.t{i}" for p in phases for i in range(TAGS))
    points = [(r["key"], r["step"]) for r in rows["metrics"] if r["run_id"] == run_id]
    assert sorted(points) == sorted((p, step) for p in phases for step in range(STEPS))

    expected = {"points": dict.fromkeys(phases, STEPS), "params": len(phases) * PARAMS}
    expected |= {"tags": len(phases) * TAGS, "versions": len(numbers), "runs": 1}
    for key in set(PHASES) - set(phases):
        expected["points"][key] = 0
    reader.until(
        lambda line: {k: line.get(k) for k in expected} == expected,
        timeout=PATIENCE,
        what=f"the reader to see everything ({expected})",
    )


def _files_rows(server, url: str, table: str) -> list[dict]:
    """Every row of every file of a table, as written (no reader merges duplicates away)."""
    import pyarrow.dataset as ds  # noqa: PLC0415  # for these checks only

    where = f"{url.removeprefix('s3://')}/{table}"
    return ds.dataset(where, filesystem=server.admin(), format="parquet").to_table().to_pylist()


# Each fault breaks every request while it lasts, or a quarter of them (the client's own
# retries then mostly get through); a delay slows every answer.
FAULTS = [
    *(
        (kind, chance)
        for kind in ("drop", "drop-answer", "500", "503", "cut")
        for chance in (1, 0.25)
    ),
    ("delay", 1),
]


@pytest.mark.parametrize(("kind", "chance"), FAULTS)
def test_a_writer_and_a_reader_through_a_fault(
    kind, chance, url, seaweedfs, s3_proxy, spawn_python, watched, tmp_path, monkeypatch
):
    model_uri = _model(url)
    proxy = s3_proxy()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)  # the children's way in
    writer, reader, run_id = _start(spawn_python, watched, tmp_path, url, model_uri)
    _go(writer, "before")
    registered = _registered(writer, "before")
    _answered(reader, after=time.time())

    began = time.time()
    proxy.fail(kind, chance=chance, seconds=DELAY_SECONDS)  # until healed
    _go(writer, "during")
    broken = chance == 1 and kind != "delay"
    if broken:  # nothing gets through: both fail, and try again
        _failed(reader, after=began)
        _failed(writer)
    else:  # some things get through, late or at a second try: both go on
        registered |= _registered(writer, "during")
        reader.until(lambda line: line["began"] >= began, timeout=PATIENCE, what="a query")
    assert proxy.broken
    healed = time.time()
    proxy.heal()
    if broken:
        registered |= _registered(writer, "during")
    _answered(reader, after=healed)
    _go(writer, "after")
    registered |= _registered(writer, "after")
    assert writer.wait(timeout=PATIENCE) == 0, writer.stderr
    assert len(registered) == len(PHASES) * VERSIONS

    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweedfs.endpoint)  # checked on the server itself
    _settled(seaweedfs, url, run_id, PHASES, registered, reader)


def test_rows_logged_while_connections_are_refused_are_spilled_then_recovered_once(
    url, seaweedfs, s3_proxy, spawn_python, watched, tmp_path, monkeypatch
):
    model_uri = _model(url)
    proxy = s3_proxy()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)  # the children's way in
    writer, reader, run_id = _start(spawn_python, watched, tmp_path, url, model_uri, patient=False)
    _go(writer, "before")
    registered = _registered(writer, "before")
    _answered(reader, after=time.time())

    refused = time.time()
    proxy.refuse(REFUSAL_SECONDS)
    _go(writer, "during")
    assert _registered(writer, "during") == {}  # each registration refused, and said so
    writer.send("stop")  # the writer ends while the port is closed
    assert writer.wait(timeout=PATIENCE) == EXIT_SPILLED, writer.stderr
    assert not proxy.listening.is_set()  # the period outlasted the writer's last tries
    assert f"could not be written to the store '{url}'" in writer.stderr
    spilled = int(re.search(r"canvasback: (\d+) row\(s\) of table", writer.stderr)[1])
    assert str(tmp_path / "writer") in writer.stderr  # where: its machine's spill folder
    assert f"canvasback recover '{url}'" in writer.stderr
    _failed(reader, after=refused)

    assert proxy.listening.wait(REFUSAL_SECONDS + PATIENCE)
    _answered(reader, after=time.time())
    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweedfs.endpoint)  # checked on the server itself
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "writer"))  # on the writer's machine
    recovered = _recover(url)
    assert recovered.returncode == 0, recovered.stderr
    assert f"wrote {spilled} row(s)" in recovered.stdout  # what was said to be kept
    assert spilled >= PARAMS + TAGS + STEPS  # the during phase's rows, and the run's end
    assert "wrote 0 row(s)" in _recover(url).stdout  # each once
    assert cb.Client(url).get_run(run_id).info.status == "FINISHED"
    _settled(seaweedfs, url, run_id, PHASES[:2], registered, reader)


def _recover(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "canvasback.cli", "recover", url],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "CANVASBACK_STORE"},
    )


@pytest.fixture
def own_url(own_seaweedfs, monkeypatch, tmp_path):
    """A store on a server of the test's own (children reach it too): ``s3://.../team``."""
    server = own_seaweedfs.server
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("CANVASBACK_HEARTBEAT_SECONDS", "3600")
    return f"s3://{server.new_bucket()}/team"


def test_a_writer_and_a_reader_through_a_server_restart(
    own_seaweedfs, own_url, spawn_python, watched, tmp_path
):
    weed, url = own_seaweedfs, own_url
    writer, reader, run_id = _start(spawn_python, watched, tmp_path, url, _model(url))
    _go(writer, "before")
    registered = _registered(writer, "before")
    _answered(reader, after=time.time())

    stopped = time.time()
    weed.stop()
    _go(writer, "during")
    _failed(writer)
    _failed(reader, after=stopped)
    weed.start()  # on the same data and ports; returns once it answers
    restarted = time.time()
    registered |= _registered(writer, "during")
    _answered(reader, after=restarted)
    _go(writer, "after")
    registered |= _registered(writer, "after")
    assert writer.wait(timeout=PATIENCE) == 0, writer.stderr
    assert len(registered) == len(PHASES) * VERSIONS
    _settled(weed.server, url, run_id, PHASES, registered, reader)
