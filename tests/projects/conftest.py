"""An MLflow MLproject folder with two entry points, for the tests of project folders and
of running them."""

from __future__ import annotations

import pytest

MLPROJECT = """\
name: regression
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      epochs: {type: float, default: 3}
    command: "python train.py --alpha {alpha} --epochs {epochs}"
  validate:
    parameters:
      data_file: path
      label: {type: string, default: "v1"}
    command: "python validate.py {data_file} {label}"
"""
TRAIN = """\
import argparse
import os
import canvasback as mlflow

# Read first: the fluent API takes the run id out of the environment once it resumes it.
seen = {"run_id": os.environ["MLFLOW_RUN_ID"], "uri": os.environ["MLFLOW_TRACKING_URI"]}
ap = argparse.ArgumentParser()
ap.add_argument("--alpha", type=float)
ap.add_argument("--epochs", type=float)
ap.add_argument("--note", default="")
args = ap.parse_args()
if args.alpha < 0:
    raise SystemExit("alpha must not be negative")
for step in range(int(args.epochs)):
    mlflow.log_metric("loss", args.alpha / (step + 1), step=step)
mlflow.log_param("note", args.note)
mlflow.set_tag("seen.run_id", seen["run_id"])
mlflow.set_tag("seen.tracking_uri", seen["uri"])
print("trained with", args.alpha)
"""
VALIDATE = """\
import sys
import canvasback as mlflow

rows = open(sys.argv[1]).read().splitlines()
mlflow.log_metric("rows", len(rows))
mlflow.set_tag("label", sys.argv[2])
"""


@pytest.fixture
def mlproject(tmp_path):
    root = tmp_path / "regression"
    root.mkdir()
    (root / "MLproject").write_text(MLPROJECT)
    (root / "train.py").write_text(TRAIN)
    (root / "validate.py").write_text(VALIDATE)
    (root / "data.csv").write_text("a\nb\nc\n")
    return root
