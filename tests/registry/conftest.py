"""What the registry's tests share: a client of the test's store, and runs with a model."""

from __future__ import annotations

import pytest

import canvasback as cb


@pytest.fixture
def client(store):
    return cb.MlflowClient(store)


@pytest.fixture
def model_run(store):  # noqa: ARG001 - the fluent API logs to the test's store
    """Log a run holding a folder with an MLmodel file (the registry needs no more)."""

    def log(name: str = "model") -> str:
        with cb.start_run(live=False) as run:
            cb.log_text("flavors: {}\n", f"{name}/MLmodel")
        return run.info.run_id

    return log
