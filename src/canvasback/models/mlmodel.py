"""The ``MLmodel`` file: MLflow's description of a model folder, read and written.

canvasback writes the fields MLflow 3 writes (flavors, signature, input example, run,
model id, size, creation time), so MLflow's tools load and serve its models, and reads
any MLflow model folder's file the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import yaml  # type: ignore[import-untyped]

from canvasback.models.signature import ModelSignature
from canvasback.registry import sources

if TYPE_CHECKING:
    from pathlib import Path

MLMODEL: Final = "MLmodel"
INPUT_EXAMPLE: Final = "input_example.json"
SERVING_EXAMPLE: Final = "serving_input_example.json"


@dataclass
class Model:
    """The content of an ``MLmodel`` file."""

    flavors: dict[str, dict[str, Any]] = field(default_factory=dict)
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    run_id: str | None = None
    artifact_path: str | None = None
    model_id: str | None = None
    model_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    utc_time_created: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    )
    model_size_bytes: int | None = None
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def add_flavor(self, name: str, **config: Any) -> None:  # noqa: ANN401
        """Describe how one library loads the folder."""
        self.flavors[name] = config

    def to_dict(self) -> dict[str, Any]:
        """The file's mapping, without empty fields (as MLflow writes it)."""
        out: dict[str, Any] = {**self.extra}
        if self.artifact_path is not None:
            out["artifact_path"] = self.artifact_path
        out["flavors"] = self.flavors
        if self.model_id is not None:
            out["model_id"] = self.model_id
        if self.model_size_bytes is not None:
            out["model_size_bytes"] = self.model_size_bytes
        out["model_uuid"] = self.model_uuid
        if self.run_id is not None:
            out["run_id"] = self.run_id
        if self.saved_input_example_info is not None:
            out["saved_input_example_info"] = self.saved_input_example_info
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
            out["is_signature_from_type_hint"] = False
            out["type_hint_from_example"] = False
        if self.metadata is not None:
            out["metadata"] = self.metadata
        out["utc_time_created"] = self.utc_time_created
        return out

    def save(self, folder: Path) -> None:
        """Write ``folder/MLmodel``."""
        text = yaml.safe_dump(self.to_dict(), default_flow_style=False, sort_keys=True)
        (folder / MLMODEL).write_text(text)

    @classmethod
    def load(cls, folder: Path) -> Model:
        """Read ``folder/MLmodel`` (written by canvasback or by MLflow)."""
        # libyaml's loader when present: a pure-Python parse costs milliseconds.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        text = sources.model_file(folder, MLMODEL).read_text()
        data = yaml.load(text, Loader=loader) or {}  # noqa: S506
        signature = data.pop("signature", None)
        known = {
            "flavors",
            "saved_input_example_info",
            "run_id",
            "artifact_path",
            "model_id",
            "model_uuid",
            "utc_time_created",
            "model_size_bytes",
            "metadata",
        }
        fields = {k: data.pop(k) for k in list(data) if k in known and data[k] is not None}
        data.pop("is_signature_from_type_hint", None)
        data.pop("type_hint_from_example", None)
        return cls(
            signature=ModelSignature.from_dict(signature) if signature else None,
            extra=data,
            **fields,
        )

    def load_input_example(self, folder: Path) -> Any:  # noqa: ANN401  # DataFrame or array
        """The saved input example, None if there is none."""
        info = self.saved_input_example_info
        if not info:
            return None
        body = json.loads(sources.model_file(folder, info["artifact_path"]).read_text())
        import pandas as pd  # noqa: PLC0415  # an example is data

        if info.get("type") == "dataframe":
            return pd.DataFrame(body["data"], columns=body.get("columns"))
        import numpy as np  # noqa: PLC0415

        return np.asarray(body["inputs"] if isinstance(body, dict) else body)


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` returns (MLflow 3's fields that canvasback has)."""

    model_uri: str
    model_id: str
    run_id: str
    artifact_path: str
    name: str
    flavors: dict[str, dict[str, Any]]
    signature: ModelSignature | None
    model_uuid: str
    utc_time_created: str
    saved_input_example_info: dict[str, Any] | None
    registered_model_version: int | None = None

    @property
    def runs_uri(self) -> str:
        """The same model as ``runs:/<run_id>/<artifact_path>``."""
        return f"runs:/{self.run_id}/{self.artifact_path}"


def save_input_example(model: Model, folder: Path, example: Any) -> Any:  # noqa: ANN401
    """Write an input example in MLflow's two forms; returns it as data, None if absent."""
    if example is None:
        return None
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    if isinstance(example, dict | list) and not isinstance(example, np.ndarray):
        example = pd.DataFrame(example)
    if isinstance(example, pd.DataFrame):
        body = json.loads(example.to_json(orient="split", index=False, date_format="iso"))
        split = {"columns": body["columns"], "data": body["data"]}
        (folder / INPUT_EXAMPLE).write_text(json.dumps(split))
        (folder / SERVING_EXAMPLE).write_text(json.dumps({"dataframe_split": split}, indent=2))
        model.saved_input_example_info = {
            "artifact_path": INPUT_EXAMPLE,
            "pandas_orient": "split",
            "serving_input_path": SERVING_EXAMPLE,
            "type": "dataframe",
        }
        return example
    array = np.asarray(example)
    (folder / INPUT_EXAMPLE).write_text(json.dumps({"inputs": array.tolist()}))
    (folder / SERVING_EXAMPLE).write_text(json.dumps({"inputs": array.tolist()}, indent=2))
    model.saved_input_example_info = {
        "artifact_path": INPUT_EXAMPLE,
        "format": "tf-serving",
        "serving_input_path": SERVING_EXAMPLE,
        "type": "ndarray",
    }
    return array
