"""The conditional-write probe: a store on object storage is checked once, and refused if
its exclusive creates do not hold (``store/fs/write_probe.py``).

Against SeaweedFS, directly and through a proxy (``s3_proxy.py``) that drops the
``If-None-Match`` header (and signs the request again, as a gateway with keys of its own
does), or answers ``409 ConditionalRequestConflict``.
"""

from __future__ import annotations

import errno
import json
import subprocess

import pytest

from canvasback._config import S3Address
from canvasback.store.fs import s3
from canvasback.store.fs.s3 import S3FileSystem
from canvasback.store.fs.s3_errors import ConditionalWriteConflictError
from canvasback.store.fs.s3_settings import S3Settings
from canvasback.store.fs.write_probe import ConditionalWriteError, verdict_rel

pytestmark = pytest.mark.s3


@pytest.fixture
def address(s3_bucket):
    return S3Address(s3_bucket, "team")


def _through(server, endpoint, address, tmp_path, **options):
    settings = S3Settings.resolve(
        endpoint=endpoint,
        access_key_id=server.access_key,
        secret_access_key=server.secret_key,
        environ={},
    )
    return S3FileSystem(address, settings=settings, cache_dir=tmp_path / "cache", **options)


def _races(proxy):
    return [r for r in proxy.requests if r[0] == "PUT" and "/_probe/race-" in r[1]]


def test_a_store_is_probed_before_its_first_create_and_the_verdict_kept(
    seaweedfs, s3_proxy, address, tmp_path
):
    proxy = s3_proxy()  # passes everything on: it only counts
    fs = _through(seaweedfs, proxy.endpoint, address, tmp_path)
    assert fs.create_exclusive("claims/names/a", b"first")
    races = _races(proxy)
    assert len(races) == 4 + 1  # four racers, then a late create
    assert all(conditional for _, _, conditional in races)
    kept = json.loads(fs.read_bytes(verdict_rel(proxy.endpoint)))
    assert (kept["exclusive"], kept["racers"], kept["winners"]) == (True, 4, 1)
    assert fs.names("_probe") == [verdict_rel(proxy.endpoint).rpartition("/")[2]]  # race key gone
    # Another process (another file system) finds the verdict and races nobody.
    again = _through(seaweedfs, proxy.endpoint, address, tmp_path)
    assert again.check_conditional_writes() == fs.check_conditional_writes()
    assert not again.create_exclusive("claims/names/a", b"second")
    assert len(_races(proxy)) == len(races)
    assert again.read_bytes("claims/names/a") == b"first"


def test_a_proxy_that_drops_if_none_match_is_found_and_the_store_refused(
    seaweedfs, s3_proxy, address, tmp_path
):
    keys = (seaweedfs.access_key, seaweedfs.secret_key)
    proxy = s3_proxy(strip=True, resign=keys)
    fs = _through(seaweedfs, proxy.endpoint, address, tmp_path)
    with pytest.raises(ConditionalWriteError) as caught:
        fs.create_exclusive("claims/names/a", b"mine")
    message = str(caught.value)
    assert f"Store '{address.url}' is refused for use by several writers" in message
    assert "4 writers raced for one key and 4 won" in message
    assert "does not honour If-None-Match: *" in message
    assert "single_writer=True" in message
    assert seaweedfs.secret_key not in message
    assert not fs.exists("claims")  # nothing was claimed
    # The verdict is kept: the next process is refused without racing again.
    races = len(_races(proxy))
    with pytest.raises(ConditionalWriteError, match="4 won"):
        _through(seaweedfs, proxy.endpoint, address, tmp_path).create_exclusive("c/x", b"")
    assert len(_races(proxy)) == races
    # The same store reached directly is sound: the verdict is per way in.
    direct = _through(seaweedfs, seaweedfs.endpoint, address, tmp_path)
    assert direct.create_exclusive("claims/names/a", b"direct")
    assert direct.check_conditional_writes().exclusive


def test_a_single_writer_may_use_a_refused_store_and_its_creates_stay_exclusive(
    seaweedfs, s3_proxy, address, tmp_path
):
    keys = (seaweedfs.access_key, seaweedfs.secret_key)
    proxy = s3_proxy(strip=True, resign=keys)
    fs = _through(seaweedfs, proxy.endpoint, address, tmp_path, single_writer=True)
    assert fs.create_exclusive("claims/names/a", b"first")
    assert not fs.check_conditional_writes().exclusive
    assert not fs.create_exclusive("claims/names/a", b"second")
    assert fs.read_bytes("claims/names/a") == b"first"


def test_a_proxy_that_breaks_the_signature_is_refused_and_nothing_kept(
    seaweedfs, s3_proxy, address, tmp_path
):
    proxy = s3_proxy(strip=True)  # drops the header, signs nothing again: the server says 403
    fs = _through(seaweedfs, proxy.endpoint, address, tmp_path)
    with pytest.raises(ConditionalWriteError, match=r"a conditional create was refused"):
        fs.create_exclusive("claims/names/a", b"mine")
    direct = _through(seaweedfs, seaweedfs.endpoint, address, tmp_path, probe=False)
    assert not direct.exists(verdict_rel(proxy.endpoint))  # not kept: perhaps the keys
    assert not direct.exists("claims")


def test_a_409_conflict_is_retried_and_a_412_is_a_lost_race(seaweedfs, s3_proxy, address, tmp_path):
    proxy = s3_proxy(conflicts=3)  # AWS's answer while another conditional write is in flight
    fs = _through(seaweedfs, proxy.endpoint, address, tmp_path, probe=False)
    assert fs.create_exclusive("claims/names/a", b"mine")
    puts = [r for r in proxy.requests if r[0] == "PUT"]
    assert len(puts) == 4  # three conflicts, then the write
    assert fs.read_bytes("claims/names/a") == b"mine"
    assert not fs.create_exclusive("claims/names/a", b"theirs")  # 412: taken, not retried
    assert len([r for r in proxy.requests if r[0] == "PUT"]) == 5
    assert fs.read_bytes("claims/names/a") == b"mine"


def test_processes_opening_a_new_store_at_once_agree_on_one_kept_verdict(
    s3_env, address, spawn_python
):
    children = [
        spawn_python(
            """
            import json, sys
            from dataclasses import asdict
            from canvasback.store.fs.s3 import S3FileSystem
            fs = S3FileSystem.from_url(sys.argv[1])
            print("ready", flush=True)
            sys.stdin.readline()
            print(json.dumps(asdict(fs.check_conditional_writes())), flush=True)
            """,
            address.url,
            stdin=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    verdicts = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        verdicts.append(json.loads(out))
    assert verdicts[0]["exclusive"]
    assert all(v == verdicts[0] for v in verdicts)  # the first kept is everyone's
    fs = S3FileSystem(address, probe=False)
    assert fs.names("_probe") == [verdict_rel(s3_env["AWS_ENDPOINT_URL"]).rpartition("/")[2]]
    assert json.loads(fs.read_bytes(verdict_rel(s3_env["AWS_ENDPOINT_URL"]))) == verdicts[0]


def test_a_409_that_never_ends_is_an_os_error_and_nothing_is_created(
    seaweedfs, s3_proxy, address, tmp_path, monkeypatch
):
    monkeypatch.setattr(s3, "CONFLICT_RETRY_SECONDS", 0.3)  # not half a minute of retries
    proxy = s3_proxy(conflicts=10_000)
    fs = _through(seaweedfs, proxy.endpoint, address, tmp_path, probe=False)
    with pytest.raises(OSError, match=r"still conflicts \(409\)") as caught:
        fs.create_exclusive("claims/names/a", b"mine")
    assert isinstance(caught.value, ConditionalWriteConflictError)
    assert caught.value.errno == errno.EBUSY
    assert caught.value.filename == f"{address.url}/claims/names/a"
    assert len([r for r in proxy.requests if r[0] == "PUT"]) > 1  # retried
    assert not fs.exists("claims/names/a")
