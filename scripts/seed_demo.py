"""Seed a store with real runs and a registry: SGD classifiers on scikit-learn's digits.

Each run logs its metrics per epoch and its model (scaler and classifier, one
scikit-learn pipeline) with ``canvasback.sklearn.log_model``, in MLflow's format, saved
by skops; the best run by validation accuracy is registered as the model ``digits``,
its version aliased ``@champion``.

Usage: ``python scripts/seed_demo.py [STORE]`` (default: ``notebooks/canvasback-store``,
the store the demo notebook opens). Does nothing when the store is seeded already;
runs of the demo experiment left by an earlier seed without a registered champion are
deleted (``restore_run`` brings one back) and seeded again.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import f1_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import canvasback as cb

EXPERIMENT = "digits-sgd"
MODEL = "digits"  # the registered model
ALIAS = "champion"  # on the version of the best run
EPOCHS = 15
GRID = [
    {"alpha": 1e-4, "eta0": 0.01, "loss": "log_loss"},
    {"alpha": 1e-3, "eta0": 0.01, "loss": "log_loss"},
    {"alpha": 1e-2, "eta0": 0.01, "loss": "log_loss"},
    {"alpha": 1e-4, "eta0": 0.1, "loss": "log_loss"},
    {"alpha": 1e-3, "eta0": 0.1, "loss": "modified_huber"},
    {"alpha": 1e-2, "eta0": 0.1, "loss": "modified_huber"},
]


def train(params: dict[str, float | str], seed: int) -> None:
    """Train one model and log it as a run."""
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=seed)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    model = SGDClassifier(
        loss=str(params["loss"]),
        alpha=float(params["alpha"]),
        eta0=float(params["eta0"]),
        learning_rate="constant",
        random_state=seed,
    )
    classes = np.unique(y)
    with cb.start_run(experiment=EXPERIMENT, params={**params, "seed": seed, "epochs": EPOCHS}):
        cb.set_tags({"dataset": "sklearn.digits", "model": "SGDClassifier"})
        for epoch in range(EPOCHS):
            model.partial_fit(x_train, y_train, classes=classes)
            proba = model.predict_proba(x_val)
            cb.log_metrics(
                {
                    "train_acc": model.score(x_train, y_train),
                    "val_acc": model.score(x_val, y_val),
                    "val_loss": log_loss(y_val, proba, labels=classes),
                },
                step=epoch,
            )
        cb.log_metric("val_f1", f1_score(y_val, model.predict(x_val), average="macro"))
        # The scaler with the classifier: the logged model predicts from raw pixels.
        cb.sklearn.log_model(make_pipeline(scaler, model), name="model", input_example=x[:5])


def seeded() -> bool:
    """Whether the store holds the demo's registered model with its champion."""
    try:
        cb.MlflowClient().get_model_version_by_alias(MODEL, ALIAS)
    except cb.RegistryNotFoundError:
        return False
    return True


def register_best() -> str:
    """Register the best run's model as ``MODEL`` and alias it ``ALIAS``; its version."""
    best = cb.search_runs(experiment_names=[EXPERIMENT], order_by=["metrics.val_acc DESC"]).iloc[0]
    version = cb.register_model(f"runs:/{best.run_id}/model", MODEL)
    client = cb.MlflowClient()
    client.update_registered_model(MODEL, description="SGD classifier of 8x8 digit images")
    client.set_registered_model_alias(MODEL, ALIAS, version.version)
    return str(version.version)


def main() -> None:
    """Seed the store unless it is seeded already."""
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("notebooks/canvasback-store")
    cb.set_store(root)
    if seeded():
        print(f"{root}: demo runs and model already there")
        return
    if cb.get_experiment_by_name(EXPERIMENT) is not None:
        stale = cb.search_runs(experiment_names=[EXPERIMENT])
        for run_id in stale["run_id"]:  # an earlier seed's, without a champion
            cb.delete_run(run_id)
        if len(stale):
            print(f"{root}: deleted {len(stale)} demo runs of an earlier seed")
    for i, params in enumerate(GRID):
        train(params, seed=i)
    cb.flush()
    version = register_best()
    print(
        f"{root}: seeded {len(GRID)} runs in experiment {EXPERIMENT!r}; "
        f"the best is model {MODEL!r} version {version} @{ALIAS}"
    )


if __name__ == "__main__":
    main()
