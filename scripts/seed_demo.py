"""Seed a store with a few real runs: an SGD classifier trained on scikit-learn's digits.

Usage: ``python scripts/seed_demo.py [STORE]`` (default: ``notebooks/canvasback-store``,
the store the demo notebook opens). Runs again only if the demo experiment is empty.
"""

from __future__ import annotations

import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import f1_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import canvasback as cb

EXPERIMENT = "digits-sgd"
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
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.pkl"
            path.write_bytes(pickle.dumps(model))
            cb.log_artifact(path)


def main() -> None:
    """Seed the store unless the demo experiment already has runs."""
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("notebooks/canvasback-store")
    cb.set_store(root)
    if cb.get_experiment_by_name(EXPERIMENT) is not None and len(
        cb.search_runs(experiment_names=[EXPERIMENT])
    ):
        print(f"{root}: demo runs already there")
        return
    for i, params in enumerate(GRID):
        train(params, seed=i)
    cb.flush()
    print(f"{root}: seeded {len(GRID)} runs in experiment {EXPERIMENT!r}")


if __name__ == "__main__":
    main()
