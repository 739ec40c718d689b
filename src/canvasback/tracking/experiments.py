"""MlflowClient's experiment methods: names held by claims, tags, deletion.

An experiment id is the lowest free number, claimed by exclusive create. Who holds a
name, and each experiment's renames, deletions and restores, are claims
(:mod:`canvasback.tracking.experiment_claims`): two processes creating one name get one
experiment, two renaming one experiment get one rename, and every call that lost such
a race raises. What a killed call left is settled by the next call that writes to the
experiment, or by ``canvasback recover``.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from canvasback import query
from canvasback.exceptions import MlflowException
from canvasback.store import layout, schema
from canvasback.store.name_claims import (
    HELD,
    MAX_TRIES,
    RENAME,
    EntityLog,
    Holding,
    Lookup,
    name_digest,
    new_token,
    slot_key,
)
from canvasback.tracking import experiment_claims as ec
from canvasback.tracking import validation
from canvasback.tracking.entities import Experiment, LazyExperiment

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
    def _ensure_default_experiment(self) -> str:
        if DEFAULT_EXPERIMENT_NAME not in self._experiment_ids:
            digest = name_digest(DEFAULT_EXPERIMENT_NAME)
            if ec.CLAIMS.latest_by_digest(self.store, digest) is None:
                # Never made (or its maker was killed before it claimed the name).
                self.store.claim(ec.ID_CLAIMS, DEFAULT_EXPERIMENT_ID, b"Default")
                with contextlib.suppress(validation.InvalidInputError):  # made by another
                    self._create_claimed(DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, {})
            self._experiment_ids[DEFAULT_EXPERIMENT_NAME] = DEFAULT_EXPERIMENT_ID
        return DEFAULT_EXPERIMENT_ID

    def _create_claimed(self, experiment_id: str, name: str, tags: dict[str, str]) -> None:
        """Claim a name for an id claimed just before, then write the experiment."""
        holding = ec.CLAIMS.take_name(
            self.store,
            name,
            experiment_id,
            slot=0,
            token=new_token(),
            details={"time": time.time_ns() // 1_000_000, "tags": tags},
        )
        ec.write_experiment(self.store, holding)

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
            experiment_id = str(self.store.claim_next_number(ec.ID_CLAIMS, name.encode()))
        elif not _given_id(experiment_id) or not self.store.claim(
            ec.ID_CLAIMS, experiment_id, name.encode()
        ):
            msg = (
                f"Invalid experiment id {experiment_id!r}: an id to give must be digits "
                f"(at most 19) and free in store {self.store.url!r}"
            )
            raise validation.InvalidInputError(msg)
        self._create_claimed(experiment_id, name, checked_tags)
        return experiment_id

    def _held(self, name: str, *, writing: bool = False) -> Lookup | None:
        """The lookup of a name that holds; ``writing``: settled for a write first."""
        found = ec.CLAIMS.lookup(self.store, name)
        if found is None or found.state != HELD:
            return None
        if writing:
            ec.settle(self.store, found.holding.entity_id, found.log)
            ec.ensure_written(self.store, found.holding)
        return found

    def experiment_id_for(self, name: str, *, create: bool = False) -> str | None:
        """The id of an experiment name (None if absent, unless ``create``).

        Looked up in the claims each time: another process may have renamed it.
        """
        if name == DEFAULT_EXPERIMENT_NAME:
            self._ensure_default_experiment()
        found = self._held(name, writing=create)
        if found is None and create:
            try:
                return self.create_experiment(name)
            except validation.InvalidInputError:  # another process created it just now
                found = self._held(name, writing=True)
        return None if found is None else found.holding.entity_id

    def experiment_to_use(self, name: str) -> Experiment:
        """The experiment of a name, created if absent: what ``set_experiment`` returns.

        Its id, name and lifecycle stage are its name's claims' and its log's (a deletion
        is a slot of the log); its creation time, tags and last update are read from the
        catalog when first asked, so a process that only logs never opens the catalog.
        The row a killed creator left unwritten is written here (its mark is one read);
        the events of a killed change wait for the experiment's next change, or
        ``recover``: the claims answer for them meanwhile.
        """
        if name == DEFAULT_EXPERIMENT_NAME:
            self._ensure_default_experiment()
        found = self._held(name)
        if found is None:
            try:
                created = self.create_experiment(name)
            except validation.InvalidInputError:  # another process created it just now
                found = self._held(name)
            else:
                return self._lazy(created, name, "active")
        if found is None:
            msg = f"Experiment {name!r} was renamed by another call as it was set; try again"
            raise ExperimentNotFoundError(msg)
        holding = found.holding
        ec.ensure_written(self.store, holding)
        if not holding.token:  # a claim of an earlier version: its row and events decide
            return self.get_experiment(holding.entity_id)
        _name, stage = ec.logged(found.log)
        return self._lazy(holding.entity_id, holding.name, stage or "active")

    def _lazy(self, experiment_id: str, name: str, stage: str) -> Experiment:
        location = self.store.location_uri(layout.ARTIFACTS_DIR)
        return LazyExperiment(
            experiment_id, name, location, stage, read=lambda: self.get_experiment(experiment_id)
        )

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment of that name, or None."""
        experiment_id = self.experiment_id_for(name)
        return None if experiment_id is None else self.get_experiment(experiment_id)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment of that id, as its log has decided (the views may lag)."""
        return self._experiment(str(experiment_id))[0]

    def _experiment(self, experiment_id: str) -> tuple[Experiment, EntityLog, Holding | None]:
        """An experiment, its log, and the holding that created it if its row is missing."""
        found = query.search_experiments(
            self.store.read(), self.store.address, view="ALL", experiment_ids=[experiment_id]
        )
        log = EntityLog(experiment_id)
        if ec.CLAIMS.entity_id.fullmatch(experiment_id):
            log = ec.CLAIMS.read_log(self.store, experiment_id)
        if found:
            return ec.as_logged(Experiment(**found[0]), log), log, None
        # Another process claimed this experiment and has not written its row yet (or
        # was killed): its holding has all an experiment being created has.
        holding = ec.creation_holding(self.store, experiment_id)
        if holding is None:
            msg = f"No experiment with id {experiment_id!r} in store {self.store.url!r}"
            raise ExperimentNotFoundError(msg)
        created, tags = ec.created(holding)
        location = self.store.location_uri(layout.ARTIFACTS_DIR)
        experiment = Experiment(experiment_id, holding.name, location, "active", created, tags)
        return ec.as_logged(experiment, log), log, holding

    def _for_writing(self, experiment_id: str) -> tuple[Experiment, EntityLog]:
        """An experiment and its log, for a call that writes to it.

        What a killed call left is settled on the way: the events of a committed change,
        the row of an experiment whose creator died after claiming its name.
        """
        experiment, log, holding = self._experiment(experiment_id)
        ec.settle(self.store, experiment_id, log)
        if holding is not None:
            ec.ensure_written(self.store, holding)
        return experiment, log

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
        found = query.search_experiments(
            self.store.read(),
            self.store.address,
            view=view_type,
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
        )
        return [Experiment(**fields) for fields in found]

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark an experiment deleted (its name stays taken until it is restored)."""
        self._change_lifecycle(str(experiment_id), ec.DELETE)

    def restore_experiment(self, experiment_id: str) -> None:
        """Undo ``delete_experiment``."""
        self._change_lifecycle(str(experiment_id), ec.RESTORE)

    def _change_lifecycle(self, experiment_id: str, op: str) -> None:
        # By id: a rename meanwhile changes nothing of it; the log only orders the two.
        _experiment, log = self._for_writing(experiment_id)
        for _ in range(MAX_TRIES):
            slot = log.next_slot
            if ec.CLAIMS.commit(self.store, experiment_id, slot, op, new_token()):
                break
            log = ec.CLAIMS.read_log(self.store, experiment_id)
        else:
            msg = f"Experiment {experiment_id!r} is contended by too many calls; try again"
            raise validation.InvalidInputError(msg)
        stage = "deleted" if op == ec.DELETE else "active"
        self.store.writer.event(
            experiment_id,
            experiment_id,
            schema.EVENT_EXPERIMENT_LIFECYCLE,
            slot_key(slot),
            stage,
        )
        self.store.flush()
        ec.mark_settled(self.store, experiment_id, slot)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an experiment a new name; the old one is free for another experiment.

        The new name is claimed with the intent (experiment, log slot, token), then the
        slot is taken: the rename is done exactly when it gets the slot. Another call's
        rename, deletion or restore that took it first, or a call that wanted the new
        name and gave the intent up, makes this call raise.
        """
        validation.experiment_name(new_name)
        experiment, log = self._for_writing(str(experiment_id))
        experiment_id, name, seen = experiment.experiment_id, experiment.name, len(log.entries)
        if experiment.lifecycle_stage == "deleted":
            msg = (
                f"Cannot rename the deleted experiment {name!r} (id {experiment_id}); "
                f"restore it first with restore_experiment({experiment_id!r})"
            )
            raise validation.InvalidInputError(msg)
        for _ in range(MAX_TRIES):
            slot, token = log.next_slot, new_token()
            ec.CLAIMS.take_name(self.store, new_name, experiment_id, slot=slot, token=token)
            if ec.CLAIMS.commit(self.store, experiment_id, slot, RENAME, token, new_name):
                break
            log = ec.CLAIMS.read_log(self.store, experiment_id)
            ec.raise_if_lost(log, seen, name, f"renamed to {new_name!r}")
            taken = log.at(slot)
            if taken is not None and taken.token == token:  # our intent was given up
                msg = (
                    f"Experiment {new_name!r} was claimed by another call while {name!r} "
                    "was being renamed to it; the rename did not happen"
                )
                raise validation.InvalidInputError(msg)
        else:
            msg = f"Experiment {name!r} is contended by too many calls; try again"
            raise validation.InvalidInputError(msg)
        self.store.writer.event(
            experiment_id, experiment_id, schema.EVENT_EXPERIMENT_NAME, slot_key(slot), new_name
        )
        self.store.flush()  # renames are rare; other processes should see them at once
        ec.mark_settled(self.store, experiment_id, slot)

    def set_experiment_tag(self, experiment_id: str, key: str, value: object) -> None:
        """Set a tag on an experiment."""
        checked = validation.validate_key("tag", key), validation.tag_value(key, value)
        experiment, _log = self._for_writing(str(experiment_id))
        self._experiment_tag(experiment.experiment_id, *checked)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment."""
        checked = validation.validate_key("tag", key)
        experiment, _log = self._for_writing(str(experiment_id))
        self._experiment_tag(experiment.experiment_id, checked, None)

    def _experiment_tag(self, experiment_id: str, key: str, value: str | None) -> None:
        self.store.writer.event(
            experiment_id, experiment_id, schema.EVENT_EXPERIMENT_TAG, key, value
        )
