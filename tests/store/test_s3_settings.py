"""Where an S3 server is and who asks: explicit options, the AWS variables, the profiles."""

from __future__ import annotations

import pytest

from canvasback.store.fs.s3_settings import S3Settings, S3SettingsError


@pytest.fixture
def profiles(tmp_path):
    """Shared profile files, as the AWS tools write them; named by the variables."""
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = SKDEFAULT\n"
        "[team]\naws_access_key_id = AKTEAM\naws_secret_access_key = SKTEAM\n"
        "aws_session_token = TOKTEAM\n"
    )
    config = tmp_path / "config"
    config.write_text(
        "[default]\nregion = eu-west-1\n"
        "[profile team]\nregion = eu-central-1\nendpoint_url = http://10.0.0.5:8333\n"
        "aws_access_key_id = AKSHADOWED\n"
    )
    return {"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_CONFIG_FILE": str(config)}


def test_the_aws_variables_name_the_server_and_the_keys(profiles):
    env = {
        **profiles,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:8333/",
        "AWS_ACCESS_KEY_ID": "AKENV",
        "AWS_SECRET_ACCESS_KEY": "SKENV",
        "AWS_REGION": "us-west-2",
    }
    s = S3Settings.resolve(environ=env)
    assert (s.endpoint, s.region, s.access_key_id, s.secret_access_key, s.session_token) == (
        "http://127.0.0.1:8333",
        "us-west-2",
        "AKENV",
        "SKENV",
        None,
    )
    assert s.allow_http
    assert s.path_style
    assert "SKENV" not in repr(s)
    assert "AKENV" not in repr(s)


def test_the_s3_endpoint_variable_wins_over_the_general_one():
    env = {"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "https://b:2"}
    s = S3Settings.resolve(environ=env)
    assert s.endpoint == "https://b:2"
    assert not s.allow_http


def test_explicit_options_win_over_the_environment(profiles):
    env = {**profiles, "AWS_ACCESS_KEY_ID": "AKENV", "AWS_SECRET_ACCESS_KEY": "SKENV"}
    s = S3Settings.resolve(
        endpoint="http://host:9000",
        region="ap-south-1",
        access_key_id="AKX",
        secret_access_key="SKX",  # noqa: S106  # a made-up key
        environ=env,
    )
    assert (s.endpoint, s.region, s.access_key_id, s.secret_access_key) == (
        "http://host:9000",
        "ap-south-1",
        "AKX",
        "SKX",
    )


def test_a_profile_gives_keys_region_and_endpoint(profiles):
    s = S3Settings.resolve(environ={**profiles, "AWS_PROFILE": "team"})
    assert (s.access_key_id, s.secret_access_key, s.session_token) == (
        "AKTEAM",
        "SKTEAM",
        "TOKTEAM",
    )
    assert (s.region, s.endpoint) == ("eu-central-1", "http://10.0.0.5:8333")
    default = S3Settings.resolve(environ=profiles)
    assert (default.access_key_id, default.region, default.endpoint) == (
        "AKDEFAULT",
        "eu-west-1",
        None,
    )
    assert not default.path_style  # AWS itself: virtual-hosted buckets


def test_keys_in_the_environment_win_over_aws_profile_but_not_over_an_explicit_one(profiles):
    env = {**profiles, "AWS_PROFILE": "team", "AWS_ACCESS_KEY_ID": "AKENV"}
    env["AWS_SECRET_ACCESS_KEY"] = "SKENV"  # noqa: S105  # a made-up key
    assert S3Settings.resolve(environ=env).access_key_id == "AKENV"
    assert S3Settings.resolve(profile="team", environ=env).access_key_id == "AKTEAM"


def test_no_keys_anywhere_leaves_the_client_s_own_chain(tmp_path):
    env = {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
    }
    s = S3Settings.resolve(environ=env)
    assert (s.access_key_id, s.secret_access_key, s.endpoint, s.region) == (
        None,
        None,
        None,
        "us-east-1",
    )


@pytest.mark.parametrize(
    ("options", "env", "words"),
    [
        ({"profile": "missing"}, {}, ["AWS profile 'missing'", "is in neither"]),
        ({}, {"AWS_PROFILE": "missing"}, ["AWS profile 'missing'"]),
        ({}, {"AWS_ACCESS_KEY_ID": "AK"}, ["AWS_SECRET_ACCESS_KEY is not"]),
        ({"access_key_id": "AK"}, {}, ["both access_key_id and secret_access_key"]),
        ({"endpoint": "127.0.0.1:8333"}, {}, ["'127.0.0.1:8333' is not an http(s) URL"]),
        ({"endpoint": "ftp://host"}, {}, ["'ftp://host' is not an http(s) URL"]),
        ({}, {"AWS_ENDPOINT_URL": "http://AK:SK@host"}, ["carries no credentials"]),
    ],
)
def test_settings_that_cannot_be_used_are_refused_saying_why(profiles, options, env, words):
    with pytest.raises(S3SettingsError) as caught:
        S3Settings.resolve(**options, environ={**profiles, **env})
    for word in words:
        assert word in str(caught.value)
    assert "SK@" not in str(caught.value)
