"""MlflowClient's experiment methods: names claimed once per store, tags, deletion.

An experiment id is the lowest free number, claimed by exclusive create; its name is
claimed the same way (by hash), so two processes creating one name get one experiment.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from canvasback.exceptions import MlflowException
from canvasback.store import layout
from canvasback.tracking import queries, validation
from canvasback.tracking.entities import Experiment

if TYPE_CHECKING:
    from collections.abc import Mapping

    from canvasback.store import Store

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


def _given_id(experiment_id: object) -> bool:
    return (
        isinstance(experiment_id, str)
        and experiment_id.isascii()
        and experiment_id.isdigit()
        and len(experiment_id) <= 19  # noqa: PLR2004  # an int64, as MLflow's ids are
    )


class ExperimentNotFoundError(MlflowException, LookupError):
    """An experiment id or name that the store does not hold."""


class ExperimentMethods:
    """The experiment half of :class:`~canvasback.tracking.client.Client`."""

    store: Store
    _experiment_ids: dict[str, str]

    # -- experiments -----------------------------------------------------------------
    def _name_claim(self, name: str) -> str:
        return hashlib.sha256(name.encode()).hexdigest()

    def _write_experiment(self, experiment_id: str, name: str) -> None:
        row = (experiment_id, name, layout.ARTIFACTS_DIR, time.time_ns() // 1_000_000)
        self.store.writer.append("experiments", experiment_id, row)
        self.store.flush()  # experiments are rare; other processes should see them at once

    def _ensure_default_experiment(self) -> str:
        if DEFAULT_EXPERIMENT_NAME not in self._experiment_ids:
            if self.store.claim("experiment-ids", DEFAULT_EXPERIMENT_ID, b"Default"):
                self.store.claim(
                    "experiment-names",
                    self._name_claim(DEFAULT_EXPERIMENT_NAME),
                    DEFAULT_EXPERIMENT_ID.encode(),
                )
                self._write_experiment(DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME)
            self._experiment_ids[DEFAULT_EXPERIMENT_NAME] = DEFAULT_EXPERIMENT_ID
        return DEFAULT_EXPERIMENT_ID

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, Any] | None = None,
        *,
        experiment_id: str | None = None,
    ) -> str:
        """Create an experiment; returns its id. The name must be new in this store.

        ``experiment_id`` gives it that id (digits; an experiment copied from another
        store keeps its id), which must be free in this store; by default it gets the
        lowest free number.
        """
        del artifact_location  # artifacts always live in the store
        validation.experiment_name(name)
        checked_tags = {
            validation.validate_key("tag", k): validation.tag_value(k, x)
            for k, x in (tags or {}).items()
        }
        self._ensure_default_experiment()
        if experiment_id is None:
            experiment_id = str(self.store.claim_next_number("experiment-ids", name.encode()))
        elif not _given_id(experiment_id) or not self.store.claim(
            "experiment-ids", experiment_id, name.encode()
        ):
            msg = (
                f"Invalid experiment id {experiment_id!r}: an id to give must be digits "
                f"(at most 19) and free in store {str(self.store.root)!r}"
            )
            raise validation.InvalidInputError(msg)
        if not self.store.claim("experiment-names", self._name_claim(name), experiment_id.encode()):
            msg = f"Experiment {name!r} already exists in store {str(self.store.root)!r}"
            raise validation.InvalidInputError(msg)
        for key, value in checked_tags.items():
            self._experiment_tag(experiment_id, key, value)
        self._write_experiment(experiment_id, name)
        self._experiment_ids[name] = experiment_id
        return experiment_id

    def experiment_id_for(self, name: str, *, create: bool = False) -> str | None:
        """The id of an experiment name (None if absent, unless ``create``)."""
        cached = self._experiment_ids.get(name)
        if cached is not None:
            return cached
        if name == DEFAULT_EXPERIMENT_NAME:
            return self._ensure_default_experiment()
        claimed = self.store.read_claim("experiment-names", self._name_claim(name))
        if claimed is None and create:
            try:
                return self.create_experiment(name)
            except validation.InvalidInputError:  # another process created it just now
                claimed = self.store.read_claim("experiment-names", self._name_claim(name))
        if claimed is None:
            return None
        self._experiment_ids[name] = claimed.decode()
        return self._experiment_ids[name]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment of that name, or None."""
        experiment_id = self.experiment_id_for(name)
        return None if experiment_id is None else self.get_experiment(experiment_id)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment of that id."""
        found = queries.search_experiments(
            self.store.read(), self.store.root, view="ALL", experiment_ids=[str(experiment_id)]
        )
        if found:
            return found[0]
        # Another process claimed this id and has not written its row yet: the claim
        # holds the name, which is all an experiment being created has.
        claimed = self.store.read_claim("experiment-ids", str(experiment_id))
        if claimed is not None and self.experiment_id_for(claimed.decode()) == str(experiment_id):
            location = (self.store.root / layout.ARTIFACTS_DIR).as_uri()
            return Experiment(str(experiment_id), claimed.decode(), location)
        msg = f"No experiment with id {experiment_id!r} in store {str(self.store.root)!r}"
        raise ExperimentNotFoundError(msg)

    def search_experiments(
        self,
        view_type: object = "ACTIVE_ONLY",
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
    ) -> list[Experiment]:
        """Experiments that match a filter (``name LIKE 'cv-%' and tags.team = 'a'``).

        Active ones by default, oldest first unless ``order_by`` says otherwise
        (``["last_update_time DESC"]``); MLflow's grammar, plus ``OR`` and parentheses.
        """
        self._ensure_default_experiment()
        return queries.search_experiments(
            self.store.read(),
            self.store.root,
            view=view_type,
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
        )

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark an experiment deleted."""
        self.get_experiment(experiment_id)
        self.store.writer.event(
            experiment_id, experiment_id, layout.EVENT_EXPERIMENT_LIFECYCLE, "", "deleted"
        )

    def restore_experiment(self, experiment_id: str) -> None:
        """Undo ``delete_experiment``."""
        self.get_experiment(experiment_id)
        self.store.writer.event(
            experiment_id, experiment_id, layout.EVENT_EXPERIMENT_LIFECYCLE, "", "active"
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an experiment a new name; the old one is free for another experiment."""
        experiment = self.get_experiment(experiment_id)
        validation.experiment_name(new_name)
        claimed = self.store.claim(
            "experiment-names", self._name_claim(new_name), experiment.experiment_id.encode()
        )
        if not claimed:
            msg = f"Experiment {new_name!r} already exists in store {str(self.store.root)!r}"
            raise validation.InvalidInputError(msg)
        self.store.writer.event(
            experiment.experiment_id,
            experiment.experiment_id,
            layout.EVENT_EXPERIMENT_NAME,
            "",
            new_name,
        )
        self.store.release_claim("experiment-names", self._name_claim(experiment.name))
        self._experiment_ids.pop(experiment.name, None)
        self._experiment_ids[new_name] = experiment.experiment_id
        self.store.flush()  # renames are rare; other processes should see them at once

    def set_experiment_tag(self, experiment_id: str, key: str, value: object) -> None:
        """Set a tag on an experiment."""
        self.get_experiment(experiment_id)
        self._experiment_tag(
            experiment_id, validation.validate_key("tag", key), validation.tag_value(key, value)
        )

    def _experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self.store.writer.event(
            experiment_id, experiment_id, layout.EVENT_EXPERIMENT_TAG, key, value
        )
