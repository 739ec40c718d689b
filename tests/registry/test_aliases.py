"""Aliases on a real store: moved one at a time, every move kept with who, when and from
where, and the reserved names refused."""

from __future__ import annotations

import socket

import pytest

import canvasback as cb
from canvasback.registry import RegistryNotFoundError
from canvasback.tracking.validation import InvalidInputError


def test_aliases_move_one_at_a_time_and_keep_their_history(client, model_run):
    uri = f"runs:/{model_run()}/model"
    for _ in range(3):
        cb.register_model(uri, "churn")
    client.set_registered_model_alias("churn", "champion", 1)
    client.set_registered_model_alias("churn", "champion", "3")
    client.set_registered_model_alias("churn", "challenger", 2)
    assert client.get_model_version_by_alias("churn", "champion").version == "3"
    assert client.get_registered_model("churn").aliases == {"champion": "3", "challenger": "2"}
    assert client.get_model_version("churn", 3).aliases == ["champion"]
    assert client.get_model_version("churn", 1).aliases == []
    client.delete_registered_model_alias("churn", "champion")
    with pytest.raises(RegistryNotFoundError, match=r"no alias 'champion'.*@challenger -> 2"):
        client.get_model_version_by_alias("churn", "champion")
    history = client.get_alias_history("churn", "champion")
    assert [(m.from_version, m.to_version) for m in history] == [
        (None, "1"),
        ("1", "3"),
        ("3", None),
    ]
    assert {m.host for m in history} == {socket.gethostname()}
    assert all(m.user_id for m in history)
    assert [m.timestamp for m in history] == sorted(m.timestamp for m in history)
    rows = cb.sql("SELECT alias, from_version, to_version FROM alias_history ORDER BY timestamp")
    assert rows.fetchall()[-1] == ("champion", 3, None)


@pytest.mark.parametrize("alias", ["latest", "Latest", "v3", "V12"])
def test_reserved_aliases_are_refused(client, alias, model_run):
    cb.register_model(f"runs:/{model_run()}/model", "churn")
    with pytest.raises(InvalidInputError, match="reserved"):
        client.set_registered_model_alias("churn", alias, 1)
    assert client.get_alias_history("churn") == []
