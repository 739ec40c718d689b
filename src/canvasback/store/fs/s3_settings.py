"""Where an S3-compatible server is and who is asking: endpoint, region, credentials.

An ``s3://bucket/prefix`` address names the bucket and prefix only. The rest comes, in
this order, from explicit options, then the standard AWS variables
(``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``, ``AWS_REGION``/``AWS_DEFAULT_REGION``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``), then the shared
profile files for ``AWS_PROFILE`` (``~/.aws/credentials`` and ``~/.aws/config``, or
``AWS_SHARED_CREDENTIALS_FILE`` and ``AWS_CONFIG_FILE``), as the AWS tools read them. An
explicit ``profile`` takes its keys from the profile only, as the AWS SDKs do. With no
keys found, the client's own chain (instance or container credentials) is left to try.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from canvasback.exceptions import MlflowException

if TYPE_CHECKING:
    from collections.abc import Mapping

    from obstore.store import ClientConfig, RetryConfig, S3Config

    from canvasback._config import S3Address

DEFAULT_REGION: Final = "us-east-1"

# A server that does not answer must not hold a flush (or a process's exit) for
# minutes: obstore's defaults retry 10 times over up to 3 minutes. A few quick retries
# ride out a blip; the writer's own backoff (write/writer.py) covers an outage.
CONNECT_TIMEOUT: Final = "5s"
MAX_RETRIES: Final = 3
RETRY_TIMEOUT_SECONDS: Final = 15


class S3SettingsError(MlflowException, ValueError):
    """An endpoint, profile or credential setting that cannot be used as given."""


@dataclass(frozen=True, slots=True)
class S3Settings:
    """How to reach the server: credentials are kept out of the repr."""

    endpoint: str | None
    """``http(s)://host:port`` of an S3-compatible server; None: AWS itself."""
    region: str
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    @property
    def allow_http(self) -> bool:
        """Plain http, for a server on this machine or a private network."""
        return self.endpoint is not None and self.endpoint.startswith("http://")

    @property
    def path_style(self) -> bool:
        """Path-style addressing (``endpoint/bucket/key``), which servers other than AWS need."""
        return self.endpoint is not None

    def client_config(self) -> S3Config:
        """The client's configuration: path-style for a server of our own; If-None-Match."""
        config: S3Config = {
            "region": self.region,
            "virtual_hosted_style_request": not self.path_style,
            "conditional_put": "etag",  # If-None-Match: * for mode="create"
        }
        if self.endpoint is not None:
            config["endpoint"] = self.endpoint
        if self.access_key_id is not None and self.secret_access_key is not None:
            config["access_key_id"] = self.access_key_id
            config["secret_access_key"] = self.secret_access_key
            if self.session_token is not None:
                config["session_token"] = self.session_token
        return config

    def client_options(self) -> ClientConfig:
        """HTTP options: plain http for a local server; a short connect timeout."""
        return {"allow_http": self.allow_http, "connect_timeout": CONNECT_TIMEOUT}

    def retry_config(self) -> RetryConfig:
        """A few retries of 5xx answers and dropped connections, within seconds."""
        return {
            "max_retries": MAX_RETRIES,
            "retry_timeout": timedelta(seconds=RETRY_TIMEOUT_SECONDS),
            "backoff": {
                "init_backoff": timedelta(milliseconds=100),
                "max_backoff": timedelta(seconds=2),
                "base": 2,
            },
        }

    def cache_dir(self, address: S3Address) -> Path:
        """A store's local cache: ``$XDG_CACHE_HOME/canvasback/s3/<hash of its url>``.

        Named by the store's url alone: its copies are keyed by name and ETag, so the
        same store reached through another endpoint (a proxy, a gateway) shares them.
        """
        name = hashlib.sha256(address.url.encode()).hexdigest()[:16]
        cache = os.environ.get("XDG_CACHE_HOME")
        if not cache:
            try:
                cache = str(Path("~/.cache").expanduser())
            except RuntimeError:  # no home folder
                uid = os.getuid() if hasattr(os, "getuid") else 0
                return Path(tempfile.gettempdir()) / f"canvasback-s3-{uid}" / name
        return Path(cache) / "canvasback" / "s3" / name

    @classmethod
    def resolve(
        cls,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        profile: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> S3Settings:
        """Settings from explicit options, else the environment, else the profile files."""
        env = os.environ if environ is None else environ
        chosen = profile or env.get("AWS_PROFILE") or None
        files = _profile(chosen or "default", env, required=chosen is not None)
        if (access_key_id is None) != (secret_access_key is None):
            msg = "S3 credentials need both access_key_id and secret_access_key, or neither"
            raise S3SettingsError(msg)
        keys: tuple[str | None, str | None, str | None]
        if access_key_id is not None:
            keys = (access_key_id, secret_access_key, session_token)
        elif profile is None and env.get("AWS_ACCESS_KEY_ID"):
            keys = _env_keys(env)
        else:
            keys = (
                files.get("aws_access_key_id"),
                files.get("aws_secret_access_key"),
                files.get("aws_session_token"),
            )
        url = (
            endpoint
            or env.get("AWS_ENDPOINT_URL_S3")
            or env.get("AWS_ENDPOINT_URL")
            or files.get("endpoint_url")
            or None
        )
        return cls(
            endpoint=None if url is None else _checked_endpoint(url),
            region=(
                region
                or env.get("AWS_REGION")
                or env.get("AWS_DEFAULT_REGION")
                or files.get("region")
                or DEFAULT_REGION
            ),
            access_key_id=keys[0],
            secret_access_key=keys[1],
            session_token=keys[2],
        )


def _env_keys(env: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    secret = env.get("AWS_SECRET_ACCESS_KEY")
    if not secret:
        msg = "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or neither"
        raise S3SettingsError(msg)
    return env["AWS_ACCESS_KEY_ID"], secret, env.get("AWS_SESSION_TOKEN") or None


def _checked_endpoint(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = (
            f"S3 endpoint {url!r} is not an http(s) URL with a host, such as "
            "http://127.0.0.1:8333 or https://s3.example.com (AWS_ENDPOINT_URL)"
        )
        raise S3SettingsError(msg)
    if parts.username or parts.password:
        msg = (
            "an S3 endpoint carries no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
        raise S3SettingsError(msg)
    return url.rstrip("/")


def _profile(name: str, env: Mapping[str, str], *, required: bool) -> dict[str, str]:
    """A profile's settings: its config-file section, overlaid by its credentials section."""
    try:
        home: Path | None = Path("~").expanduser()
    except RuntimeError:  # no home folder: only the files the variables name
        home = None
    credentials = env.get("AWS_SHARED_CREDENTIALS_FILE") or (
        str(home / ".aws" / "credentials") if home else None
    )
    config = env.get("AWS_CONFIG_FILE") or (str(home / ".aws" / "config") if home else None)
    found: dict[str, str] = {}
    seen = False
    # The config file names a profile "profile NAME" (but "default" as is); the
    # credentials file names it NAME. Credentials-file keys win, as in the AWS tools.
    for path, section in (
        (config, name if name == "default" else f"profile {name}"),
        (credentials, name),
    ):
        if path is None:
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as exc:
            msg = f"AWS profile file {path!r} cannot be read: {exc}"
            raise S3SettingsError(msg) from None
        if parser.has_section(section):
            seen = True
            found.update({k: v.strip() for k, v in parser.items(section) if v.strip()})
    if required and not seen:
        msg = (
            f"AWS profile {name!r} (AWS_PROFILE or profile=) is in neither {credentials!r} "
            f"nor {config!r}"
        )
        raise S3SettingsError(msg)
    return found
