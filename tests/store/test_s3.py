"""The S3 backend beyond the contract: its errors, and the names it refuses."""

from __future__ import annotations

import errno

import pytest
from pyarrow.fs import FileSelector

from canvasback._config import S3Address
from canvasback.store.fs import StorePathError
from canvasback.store.fs.s3 import S3FileSystem
from canvasback.store.fs.s3_settings import S3Settings


def _fs(endpoint, bucket, tmp_path, *, key="AKNOBODY", secret="not-a-secret"):  # noqa: S107
    settings = S3Settings.resolve(
        endpoint=endpoint, access_key_id=key, secret_access_key=secret, environ={}
    )
    return S3FileSystem(S3Address(bucket, "team"), settings=settings, cache_dir=tmp_path / "c")


def test_a_backslash_is_refused_before_any_request(tmp_path):
    fs = _fs("http://127.0.0.1:9", "bucket", tmp_path)  # nothing listens there
    for use in (
        lambda: fs.write_bytes("a\\..\\..\\x", b"1"),
        lambda: fs.read_bytes("a\\b"),
        lambda: fs.create_exclusive("claims\\x", b"1"),
        lambda: fs.names("a\\b"),
        lambda: fs.local_copy("artifacts\\r1"),
        lambda: fs.inside("a\\..\\..\\x"),
    ):
        with pytest.raises(StorePathError, match="backslash"):
            use()
    assert not (tmp_path / "c").exists()


@pytest.mark.s3
def test_wrong_keys_are_a_permission_error_naming_the_object_not_the_secret(
    seaweedfs, s3_bucket, tmp_path
):
    fs = _fs(seaweedfs.endpoint, s3_bucket, tmp_path, key=seaweedfs.access_key)
    for use in (lambda: fs.write_bytes("t/a", b"1"), lambda: fs.read_bytes("t/a")):
        with pytest.raises(PermissionError) as caught:
            use()
        assert caught.value.errno == errno.EACCES
        assert caught.value.filename == f"s3://{s3_bucket}/team/t/a"
        assert "not-a-secret" not in str(caught.value)
        assert seaweedfs.secret_key not in str(caught.value)


@pytest.mark.s3
def test_a_missing_bucket_is_file_not_found_and_never_made(seaweedfs, tmp_path):
    fs = _fs(
        seaweedfs.endpoint,
        "no-such-bucket",
        tmp_path,
        key=seaweedfs.access_key,
        secret=seaweedfs.secret_key,
    )
    with pytest.raises(FileNotFoundError):
        fs.write_bytes("t/a", b"1")
    with pytest.raises(FileNotFoundError):
        fs.put_if_absent("claims/x", b"1")
    assert fs.names("") == []
    assert not fs.exists("")
    buckets = seaweedfs.admin().get_file_info(FileSelector("/"))
    assert "no-such-bucket" not in {info.base_name for info in buckets}
