"""A version search asked again of a store that has not changed: the same answer (every
field, tags and aliases too) with no query; one change anywhere, by this process or
another, and the next search reads the store anew."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from canvasback.registry import reads, versions

if TYPE_CHECKING:
    from canvasback.registry.entities import ModelVersion

FILTER = "name = 'churn'"


def _fields(found: list[ModelVersion]) -> list[dict[str, object]]:
    return [dataclasses.asdict(v) for v in found]


def _registered(client, model_run) -> None:
    uri = f"runs:/{model_run()}/model"
    for _ in range(3):
        client.create_model_version("churn", uri, tags={"team": "growth"})
    client.create_model_version("fraud", uri)
    client.set_model_version_tag("churn", 2, "validated", "yes")
    client.set_registered_model_alias("churn", "champion", 2)
    client.set_registered_model_alias("churn", "challenger", 2)
    client.set_registered_model_alias("churn", "previous", 1)
    client.transition_model_version_stage("churn", 3, "Staging")


def test_a_search_asked_again_gives_the_same_versions_with_no_query(client, model_run):
    _registered(client, model_run)
    first = client.search_model_versions(FILTER)
    memo = client.store.catalog.memo
    worked_out = memo.worked_out
    again = client.search_model_versions(FILTER, order_by=None)
    assert memo.worked_out == worked_out
    assert _fields(again) == _fields(first)
    # ...and the same as the store answers without the memo, field by field.
    catalog = client.store.read()
    rows = reads.search_model_versions(catalog, FILTER, None, 10_001, 0)
    assert _fields(again) == _fields(versions.entities(catalog, rows))
    assert [(v.version, v.aliases, v.tags, v.current_stage) for v in again] == [
        ("3", [], {"team": "growth"}, "Staging"),
        ("2", ["challenger", "champion"], {"team": "growth", "validated": "yes"}, "None"),
        ("1", ["previous"], {"team": "growth"}, "None"),
    ]


def test_a_version_changed_by_its_caller_changes_no_later_answer(client, model_run):
    _registered(client, model_run)
    found = client.search_model_versions(FILTER)
    found[1].tags["validated"] = "no"
    found[1].aliases.append("mine")
    found.pop()
    again = client.search_model_versions(FILTER)
    assert len(again) == 3
    assert (again[1].tags["validated"], again[1].aliases) == ("yes", ["challenger", "champion"])


def test_other_searches_are_answered_apart(client, model_run):
    _registered(client, model_run)
    client.search_model_versions(FILTER)
    assert [v.version for v in client.search_model_versions(FILTER, max_results=1)] == ["3"]
    ordered = client.search_model_versions(FILTER, order_by=["version_number ASC"])
    assert [v.version for v in ordered] == ["1", "2", "3"]
    assert [v.name for v in client.search_model_versions("name = 'fraud'")] == ["fraud"]
    page = client.search_model_versions(FILTER, max_results=2)
    assert [v.version for v in page] == ["3", "2"]
    assert page.token is not None
    rest = client.search_model_versions(FILTER, max_results=2, page_token=page.token)
    assert [v.version for v in rest] == ["1"]


def test_a_change_by_this_process_is_seen_at_the_next_search(client, model_run):
    _registered(client, model_run)
    client.search_model_versions(FILTER)
    client.set_model_version_tag("churn", 1, "validated", "no")
    client.set_registered_model_alias("churn", "champion", 3)
    found = client.search_model_versions(FILTER)
    assert [(v.version, v.aliases, v.tags.get("validated")) for v in found] == [
        ("3", ["champion"], None),
        ("2", ["challenger"], "yes"),
        ("1", ["previous"], "no"),
    ]


def test_a_change_by_another_process_is_seen_at_the_next_search(
    client, model_run, store, run_python
):
    _registered(client, model_run)
    before = client.search_model_versions(FILTER)
    assert client.search_model_versions(FILTER) == before  # kept, as the store stands
    run_python(
        """
        import sys
        import canvasback as cb

        client = cb.MlflowClient(sys.argv[1])
        client.set_model_version_tag("churn", 3, "validated", "later")
        client.set_registered_model_alias("churn", "champion", 3)
        client.delete_model_version("churn", 1)
        client.create_model_version("churn", "runs:/" + sys.argv[2] + "/model")
        client.update_model_version("churn", 2, description="retrained")
        cb.flush()
        """,
        store,
        before[0].run_id,
    )
    found = client.search_model_versions(FILTER)
    assert [(v.version, v.aliases, v.tags.get("validated"), v.description) for v in found] == [
        ("4", [], None, None),
        ("3", ["champion"], "later", None),
        ("2", ["challenger"], "yes", "retrained"),
    ]


def test_a_search_row_holds_every_column_of_its_view(client, model_run):
    _registered(client, model_run)
    catalog = client.store.read()
    for view, rows, everything in (
        (
            "model_versions",
            reads.search_model_versions(catalog, FILTER),
            "SELECT * FROM model_versions WHERE name = 'churn' ORDER BY version DESC",
        ),
        (
            "registered_models",
            reads.search_registered_models(catalog),
            "SELECT * FROM registered_models ORDER BY name",
        ),
    ):
        columns = [r[0] for r in catalog.rows(f"DESCRIBE {view}")]
        assert [list(row) for row in rows] == [columns] * len(rows)
        assert rows == reads.rows_of(catalog, everything, [])
