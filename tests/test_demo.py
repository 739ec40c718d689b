"""The demo's store, as ``make demo`` seeds it (``scripts/seed_demo.py``).

Every run logged its model in MLflow's format, so the registry panel offers each one for
registering; the best run's model is registered as ``digits`` (the README's example),
aliased ``@champion``, and loads by that alias. The demo notebook itself runs under
nbval in ``make test``, against a store seeded the same way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.datasets import load_digits

import canvasback as cb
from canvasback.registry import Client, panel_reads

pytestmark = pytest.mark.slow  # the seed script trains in a child process

SEED = Path(__file__).resolve().parents[1] / "scripts" / "seed_demo.py"


def seed(root: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(SEED), str(root)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "store"
    return root, seed(root)


def _runs(client: Client):
    experiment = client.get_experiment_by_name("digits-sgd")
    return client.search_runs_frame([experiment.experiment_id], order_by=["metrics.val_acc DESC"])


def test_the_best_run_is_registered_as_digits_at_champion(seeded):
    root, result = seeded
    client = Client(root)
    runs = _runs(client)
    assert len(runs) == 6
    champion = client.get_model_version_by_alias("digits", "champion")
    assert champion.run_id == runs["run_id"][0]  # the best by validation accuracy
    assert runs["metrics.val_acc"][0] == runs["metrics.val_acc"].max()
    assert champion.source == f"runs:/{champion.run_id}/model"
    assert client.get_registered_model("digits").aliases == {"champion": champion.version}
    assert f"model 'digits' version {champion.version} @champion" in result.stdout


def test_every_run_logged_a_model_the_registry_panel_can_register(seeded):
    root, _ = seeded
    client = Client(root)
    run_ids = list(_runs(client)["run_id"])
    folders = panel_reads.model_folders(client.store.read(), run_ids)
    assert [(row["run_id"], row["models"]) for row in folders] == [(r, ["model"]) for r in run_ids]
    mlmodel = (root / "artifacts" / run_ids[0] / "model" / "MLmodel").read_text()
    assert "sklearn:" in mlmodel
    assert "serialization_format: skops" in mlmodel  # no pickle to trust


def test_the_champion_loads_by_its_alias_and_predicts_raw_pixels(seeded):
    root, _ = seeded
    cb.set_store(root)
    x, y = load_digits(return_X_y=True)
    accuracy = float((cb.load_model("models:/digits@champion").predict(x) == y).mean())
    assert accuracy > 0.9  # the scaler travels with the classifier


def test_seeding_again_changes_nothing(seeded):
    root, _ = seeded
    again = seed(root)
    assert "already there" in again.stdout
    client = Client(root)
    assert len(_runs(client)) == 6
    assert [v.version for v in client.search_model_versions("name = 'digits'")] == ["1"]
