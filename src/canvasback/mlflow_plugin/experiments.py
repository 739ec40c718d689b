"""The tracking store's experiment methods, over canvasback's client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from mlflow.entities import ViewType
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT
from mlflow.utils.search_utils import SearchUtils

from canvasback.mlflow_plugin import entities
from canvasback.mlflow_plugin.errors import RESOURCE_ALREADY_EXISTS, mlflow_error, translate_errors
from canvasback.tracking.validation import InvalidInputError

if TYPE_CHECKING:
    from mlflow.entities import Experiment, ExperimentTag

    from canvasback._config import StoreAddress
    from canvasback.mlflow_plugin.uris import StoreArtifacts
    from canvasback.registry import Client

# MLflow's order when none is asked for: the experiments updated last come first.
DEFAULT_ORDER: Final = ["last_update_time DESC"]


def page(items: list[Any], offset: int, max_results: int) -> tuple[list[Any], str | None]:
    """One page of ``items`` fetched up to one past its end, and the next page's token."""
    more = len(items) > offset + max_results
    token = SearchUtils.create_page_token(offset + max_results) if more else None
    return items[offset : offset + max_results], token


@translate_errors
class ExperimentStoreMethods:
    """``create_experiment``, ``search_experiments``, tags, renames and deletions."""

    root: StoreAddress
    artifacts: StoreArtifacts

    if TYPE_CHECKING:

        @property
        def client(self) -> Client: ...  # noqa: D102

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: list[ExperimentTag] | None = None,
    ) -> str:
        """Create an experiment (its artifacts live in the store, wherever MLflow asks)."""
        given = {t.key: t.value for t in tags or []}
        try:
            return self.client.create_experiment(name, artifact_location, given)
        except InvalidInputError:
            if isinstance(name, str) and self.client.experiment_id_for(name) is not None:
                # MLflow's set_experiment goes on with the experiment another call made.
                msg = f"Experiment {name!r} already exists in store {str(self.root)!r}"
                raise mlflow_error(msg, RESOURCE_ALREADY_EXISTS) from None
            raise

    def get_experiment(self, experiment_id: str) -> Experiment:
        """An experiment by id (RESOURCE_DOES_NOT_EXIST if the store has none)."""
        return entities.experiment(self.client.get_experiment(str(experiment_id)), self.artifacts)

    def get_experiment_by_name(self, experiment_name: str) -> Experiment | None:
        """An experiment by name, None if the store has none of that name."""
        found = self.client.get_experiment_by_name(experiment_name)
        return None if found is None else entities.experiment(found, self.artifacts)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Experiments that match, a page at a time (last updated first by default)."""
        offset = SearchUtils.parse_start_offset_from_page_token(page_token)
        found = self.client.search_experiments(
            view_type=view_type,
            max_results=offset + max_results + 1,
            filter_string=filter_string,
            order_by=order_by or DEFAULT_ORDER,
        )
        items, token = page(found, offset, max_results)
        return PagedList([entities.experiment(e, self.artifacts) for e in items], token)

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark an experiment deleted."""
        self.client.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        """Undo ``delete_experiment``."""
        self.client.restore_experiment(str(experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an experiment a new name."""
        self.client.rename_experiment(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        """Set a tag on an experiment."""
        self.client.set_experiment_tag(str(experiment_id), tag.key, tag.value)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment."""
        self.client.delete_experiment_tag(str(experiment_id), key)
