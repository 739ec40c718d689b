"""Datasets a run used: ``mlflow.data`` descriptions, ``log_input``, ``datasets.`` filters."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import canvasback as mlflow
from canvasback.store import Store


@pytest.fixture
def frame():
    return pd.DataFrame({"x": np.arange(100), "y": np.arange(100) % 2, "label": ["a", "b"] * 50})


def test_from_pandas_describes_the_frame(frame):
    dataset = mlflow.data.from_pandas(frame, source="data/train.csv", targets="y", name="train")
    assert dataset.name == "train"
    assert len(dataset.digest) == 8
    assert dataset.digest == mlflow.data.from_pandas(frame.copy()).digest  # content, not id
    assert dataset.digest != mlflow.data.from_pandas(frame.assign(x=frame.x + 1)).digest
    assert dataset.schema["columns"][0] == {"name": "x", "type": "int64"}
    assert dataset.profile == {"num_rows": 100, "num_elements": 300}
    assert (dataset.source, dataset.source_type, dataset.targets) == (
        "data/train.csv",
        "local",
        "y",
    )
    with pytest.raises(ValueError, match="targets 'nope' is not a column"):
        mlflow.data.from_pandas(frame, targets="nope")


def test_from_numpy_describes_the_arrays():
    features = np.ones((10, 3), dtype=np.float32)
    dataset = mlflow.data.from_numpy(features, targets=np.zeros(10), name="digits")
    assert [t["name"] for t in dataset.schema["tensors"]] == ["features", "targets"]
    assert dataset.schema["tensors"][0]["shape"] == [10, 3]
    assert dataset.profile == {"num_elements": 40}
    assert dataset.digest != mlflow.data.from_numpy(features * 2, targets=np.zeros(10)).digest


def test_log_input_is_stored_searchable_and_shown(store, frame):
    train = mlflow.data.from_pandas(frame, name="train", source="data/train.csv")
    test = mlflow.data.from_pandas(frame.head(10), name="test")
    with mlflow.start_run(run_name="uses-both") as both:
        mlflow.log_input(train, context="training")
        mlflow.log_input(test, context="evaluation", tags={"split": "holdout"})
    with mlflow.start_run(run_name="uses-train"):
        mlflow.log_input(train, context="training")
    with mlflow.start_run(run_name="uses-none"):
        pass

    def names(filter_string):
        return sorted(mlflow.search_runs(filter_string=filter_string)["run_name"])

    assert names("datasets.name = 'train'") == ["uses-both", "uses-train"]
    assert names("dataset.name = 'test'") == ["uses-both"]
    assert names(f"datasets.digest = '{test.digest}'") == ["uses-both"]
    assert names("datasets.context IN ('evaluation')") == ["uses-both"]
    assert names("datasets.name LIKE 't%' AND datasets.context = 'training'") == [
        "uses-both",
        "uses-train",
    ]
    assert names("datasets.name = 'train' OR run_name = 'uses-none'") == [
        "uses-both",
        "uses-none",
        "uses-train",
    ]
    with pytest.raises(mlflow.FilterError, match="unknown dataset key 'rows'"):
        mlflow.search_runs(filter_string="datasets.rows = 'x'")
    with pytest.raises(mlflow.FilterError, match="cannot order"):
        mlflow.search_runs(order_by=["datasets.name"])
    rows = (
        Store(store)
        .read()
        .relation(
            "SELECT name, context, profile FROM datasets WHERE run_id = ? ORDER BY name",
            [both.run_id],
        )
    )
    (test_row, train_row) = rows.fetchall()
    assert test_row[:2] == ("test", "evaluation")
    assert json.loads(train_row[2]) == {"num_elements": 300, "num_rows": 100}
    assert mlflow.get_run(both.run_id).data.tags["dataset.test.split"] == "holdout"

    table = mlflow.runs(store=store, filter="datasets.name = 'test'")
    assert table.total == 1
    reply, _buffers = table.handle_request("detail", {"run_id": both.run_id, "max_points": 64})
    shown = reply["reply"]["datasets"]
    assert [(d["name"], d["context"], d["digest"]) for d in shown] == [
        ("test", "evaluation", test.digest),
        ("train", "training", train.digest),
    ]
    table.close()


@pytest.mark.usefixtures("store")
def test_log_input_refuses_what_is_not_a_dataset(frame):
    with mlflow.start_run(), pytest.raises(mlflow.InvalidInputError, match="from_pandas"):
        mlflow.log_input(frame)
