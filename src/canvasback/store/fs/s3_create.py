"""Exclusive creates on object storage: a conditional PUT, and whose it was when it said 412.

A create is a PUT with ``If-None-Match: *``: 412 means the name is taken. But the client
retries a request whose answer was lost (a connection dropped after the server acted),
so the 412 may answer the retry of this very create: the object is this call's, and
taking it for another's would leave a claim nobody holds (a version number skipped, a
name held by a call told it lost). So each create carries a token of its own, as user
metadata (``x-amz-meta-canvasback-create``); on a 412 the object's token is read (a
HEAD), and the create is this call's if it is its token.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Final

import obstore

from canvasback.store.fs.s3_errors import created_unless_taken, translated

if TYPE_CHECKING:
    from obstore.store import S3Store

METADATA_KEY: Final = "canvasback-create"


def create(
    client: S3Store, rel: str, data: bytes, url: str, retry_seconds: float
) -> tuple[bool, str | None]:
    """Create ``rel`` only if absent: whether this call created it, and the object's ETag.

    409 Conflict is retried for ``retry_seconds`` (``s3_errors.created_unless_taken``).
    """
    token = secrets.token_hex(16)
    etags: list[str | None] = []

    def put() -> None:
        result = obstore.put(client, rel, data, mode="create", attributes={METADATA_KEY: token})
        etags.append(result["e_tag"])

    if created_unless_taken(put, url, retry_seconds):
        return True, etags[-1]
    return _made_with(client, rel, url, token)


def _made_with(client: S3Store, rel: str, url: str, token: str) -> tuple[bool, str | None]:
    """Whether the create that carried ``token`` made the object, and its ETag."""
    try:
        with translated(url):
            found = obstore.get(client, rel, options={"head": True})
    except FileNotFoundError:  # deleted since: whoever made it, nobody holds it now
        return False, None
    return found.attributes.get(METADATA_KEY) == token, found.meta["e_tag"]
