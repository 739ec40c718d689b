"""search_experiments' filter, order and page (query/experiment_search.py), and the reads
of an experiment's row and events, on a real store."""

from __future__ import annotations

import pytest

import canvasback
from canvasback.exceptions import InvalidInputError
from canvasback.query.experiment_search import (
    experiment_changes,
    experiment_written,
    search_experiments,
)
from canvasback.query.filter import FilterError
from canvasback.store import schema


def names(logged, **kwargs) -> list[str]:
    return [e["name"] for e in search_experiments(logged.catalog(), logged.root, **kwargs)]


@pytest.fixture
def experiments(logged):
    client = canvasback.Client(logged.root)
    client.create_experiment("third", experiment_id="3", tags={"owner": "bo"})
    client.delete_experiment("3")
    client.set_experiment_tag(logged.OTHER_EXPERIMENT, "owner", "bo")
    logged.store.flush()
    return logged


def test_an_experiment_comes_back_as_its_fields(experiments):
    (found,) = search_experiments(
        experiments.catalog(), experiments.root, experiment_ids=[experiments.EXPERIMENT]
    )
    assert set(found) == {
        "experiment_id",
        "name",
        "artifact_location",
        "lifecycle_stage",
        "creation_time",
        "tags",
        "last_update_time",
    }
    assert (found["experiment_id"], found["name"], found["lifecycle_stage"]) == (
        experiments.EXPERIMENT,
        "queries",
        "active",
    )
    assert found["tags"] == {"owner": "ana"}
    assert found["artifact_location"].startswith(experiments.root.as_uri())
    assert isinstance(found["creation_time"], int)


def test_filter_by_attribute_and_tag_in_view_order(experiments):
    assert names(experiments, filter_string="tags.owner = 'bo'") == ["others"]
    assert names(experiments, view="ALL", filter_string="tags.owner = 'bo'") == [
        "others",
        "third",
    ]
    assert names(experiments, view="DELETED_ONLY") == ["third"]
    assert names(experiments, filter_string="name LIKE '%er%' or tags.owner = 'ana'") == [
        "queries",
        "others",
    ]
    assert "Default" not in names(experiments, filter_string="tags.owner IS NOT NULL")


def test_order_and_page(experiments):
    assert names(experiments, view="ALL", order_by=["name DESC"], max_results=2) == [
        "third",
        "queries",
    ]
    assert names(experiments, view="ALL", order_by=["tags.owner"], max_results=3) == [
        "queries",  # ana
        "others",  # bo, created before third
        "third",
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"filter_string": "metrics.acc > 1"}, FilterError, "metrics. keys are not searchable"),
        ({"order_by": ["status"]}, FilterError, "unknown attribute 'status'"),
        ({"max_results": -1}, InvalidInputError, "Invalid max_results -1"),
        ({"view": "SOME"}, ValueError, "Invalid run_view_type 'SOME'"),
    ],
)
def test_bad_arguments_are_refused(logged, kwargs, error, match):
    with pytest.raises(error, match=match):
        search_experiments(logged.catalog(), logged.root, **kwargs)


def test_an_experiment_s_row_and_its_rename_and_lifecycle_events(experiments):
    catalog = experiments.catalog()
    assert experiment_written(catalog, experiments.EXPERIMENT)
    assert not experiment_written(catalog, "99")
    assert experiment_changes(catalog, experiments.EXPERIMENT) == {}
    canvasback.Client(experiments.root).rename_experiment(experiments.EXPERIMENT, "renamed")
    experiments.store.flush()
    changes = experiment_changes(experiments.catalog(), experiments.EXPERIMENT)
    assert list(changes.values()) == ["renamed"]
    assert {kind for kind, _ in changes} == {schema.EVENT_EXPERIMENT_NAME}
    assert {kind for kind, _ in experiment_changes(catalog, "3")} == {
        schema.EVENT_EXPERIMENT_LIFECYCLE
    }
