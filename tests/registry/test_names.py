"""The registry's input, checked whole at the call: descriptions and names that are not
Unicode, aliases with a trailing newline, page tokens and version numbers beyond 64
bits each get an error naming the value and what is allowed, and nothing already
registered is lost."""

from __future__ import annotations

import warnings

import pytest

import canvasback as cb
from canvasback.cli import main as cli_main
from canvasback.registry.entities import RegistryNotFoundError
from canvasback.tracking.validation import InvalidInputError

LONE = "ok\ud800"  # a lone surrogate: no UTF-8 form, so no Parquet file can hold it

TOKEN_31 = "1" * 31

SUPERSCRIPT_TWO, ARABIC_ONE = "\u00b2", "\u0661"  # digits to str.isdigit, not to int()


@pytest.fixture
def client(store, tmp_path, monkeypatch):
    # Rows a store refused would be spilled to the user's cache: keep that in the test.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    client = cb.MlflowClient(store)
    client.create_registered_model("churn", description="first")
    client.create_model_version("churn", "runs:/abc/model", description="v1")
    return client


def _nothing_spilled(store) -> None:
    """No row was set aside, and ``canvasback recover`` has nothing left to do."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a spill warns; it must not have happened
        cb.MlflowClient(store).store.flush()
    assert cli_main(["recover", str(store)]) == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.update_registered_model("churn", description=LONE),
        lambda c: c.update_model_version("churn", 1, description=LONE),
        lambda c: c.create_registered_model("fraud", description=LONE),
        lambda c: c.create_model_version("churn", "runs:/abc/model", description=LONE),
    ],
    ids=["update_model", "update_version", "create_model", "create_version"],
)
def test_a_description_that_is_not_unicode_is_refused_at_the_call(client, store, call):
    with pytest.raises(InvalidInputError, match=r"description 'ok\\ud800'.*lone surrogate"):
        call(client)
    _nothing_spilled(store)
    assert client.get_registered_model("churn").description == "first"
    assert client.get_model_version("churn", 1).description == "v1"
    assert [v.version for v in client.search_model_versions()] == ["1"]
    with pytest.raises(RegistryNotFoundError):
        client.get_registered_model("fraud")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_registered_model(LONE),
        lambda c: c.get_registered_model(LONE),
        lambda c: c.rename_registered_model("churn", LONE),
        lambda c: c.create_model_version(LONE, "runs:/abc/model"),
    ],
    ids=["create", "get", "rename", "create_version"],
)
def test_a_model_name_that_is_not_unicode_is_refused(client, store, call):
    with pytest.raises(InvalidInputError, match=r"model name 'ok\\ud800'.*lone surrogate"):
        call(client)
    _nothing_spilled(store)
    assert [m.name for m in client.search_registered_models()] == ["churn"]


@pytest.mark.parametrize("alias", ["champ\n", "champ\r\n", "\nchamp", "v1\n", "latest\n"])
def test_an_alias_must_match_whole(client, alias):
    with pytest.raises(InvalidInputError, match=r"Invalid alias .*(letters, digits|reserved)"):
        client.set_registered_model_alias("churn", alias, 1)
    assert client.get_alias_history("churn") == []


def test_page_tokens_and_sizes_beyond_64_bits_are_refused(client):
    for search in (client.search_registered_models, client.search_model_versions):
        with pytest.raises(InvalidInputError, match=rf"page_token '{TOKEN_31}'.*previous page"):
            search(page_token=TOKEN_31)
        with pytest.raises(InvalidInputError, match=r"page_token '²'.*digits 0-9"):
            search(page_token=SUPERSCRIPT_TWO)
        with pytest.raises(InvalidInputError, match=r"max_results 10{30}: a positive integer"):
            search(max_results=10**30)
        assert len(search(page_token=str(0))) == 1  # a token of digits still pages
    with pytest.raises(InvalidInputError, match=r"max_results 10{30}: a non-negative integer"):
        cb.search_runs(max_results=10**30)
    with pytest.raises(InvalidInputError, match=r"max_results 9223372036854775808"):
        client.search_runs(max_results=2**63)


@pytest.mark.parametrize(
    "version", [SUPERSCRIPT_TWO, ARABIC_ONE, 10**20, str(10**20), "0", -1, 1.0]
)
def test_a_version_number_is_a_64_bit_positive_integer_of_ascii_digits(client, version):
    with pytest.raises(InvalidInputError, match=r"Invalid model version .*digits 0-9"):
        client.get_model_version("churn", version)
