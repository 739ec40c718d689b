"""A store on object storage through the faults of servers and networks: nothing lost or doubled.

The server is SeaweedFS behind the test proxy (``s3_proxy.py``), which drops
connections, loses answers, answers 500 and 503, cuts bodies short, delays answers and
refuses connections for a while.
"""

from __future__ import annotations

import pytest

import canvasback as cb
from canvasback._config import S3Address
from canvasback.store.fs.s3 import S3FileSystem
from canvasback.store.fs.s3_settings import S3Settings

pytestmark = pytest.mark.s3

VERSION_CLAIMS = "/claims/model-versions/"


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
