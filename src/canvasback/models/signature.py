"""Model signatures in MLflow's format: inferred from examples, checked at predict.

A signature's inputs are named columns (``ColSpec``, for DataFrames) or one tensor
(``TensorSpec``, for numpy arrays). In an ``MLmodel`` file each side is a JSON string,
as MLflow writes it, so MLflow reads canvasback's signatures and the other way round.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from canvasback.exceptions import MlflowException

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class SignatureMismatchError(MlflowException, ValueError):
    """Input to ``predict`` that does not fit the model's signature."""


# MLflow's column types and the numpy kinds that map to them.
_TYPES: Final = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}
# Casts that lose nothing: an input of the key type may feed a column of these types.
_SAFE: Final = {
    "boolean": {"boolean"},
    "integer": {"integer", "long", "float", "double"},
    "long": {"long", "double"},
    "float": {"float", "double"},
    "double": {"double"},
    "string": {"string"},
    "binary": {"binary"},
    "datetime": {"datetime"},
}


def _column_type(dtype: Any) -> str:  # noqa: ANN401  # a numpy or pandas dtype
    import numpy as np  # noqa: PLC0415  # loaded with pandas by then

    kind = getattr(dtype, "kind", "O")
    if kind == "b":
        return "boolean"
    if kind in "iu":
        return "long" if np.dtype(dtype).itemsize > 4 else "integer"  # noqa: PLR2004
    if kind == "f":
        return "double" if np.dtype(dtype).itemsize > 4 else "float"  # noqa: PLR2004
    if kind == "M":
        return "datetime"
    if kind == "S":
        return "binary"
    return "string"


@dataclass(frozen=True)
class ColSpec:
    """One named input or output column."""

    type: str
    name: str | None = None
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form of the column."""
        out: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out


@dataclass(frozen=True)
class TensorSpec:
    """One tensor: a numpy dtype and a shape (-1 for a free dimension)."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form of the tensor."""
        out: dict[str, Any] = {
            "type": "tensor",
            "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)},
        }
        if self.name is not None:
            out["name"] = self.name
        return out


Spec = ColSpec | TensorSpec


@dataclass(frozen=True)
class Schema:
    """The inputs (or outputs) of a model: columns, or tensors."""

    inputs: list[Spec] = field(default_factory=list)

    def to_json(self) -> str:
        """The JSON string MLflow keeps in an ``MLmodel`` file."""
        return json.dumps([s.to_dict() for s in self.inputs])

    @classmethod
    def from_json(cls, text: str) -> Schema:
        """A schema from MLflow's JSON string."""
        specs: list[Spec] = []
        for item in json.loads(text):
            if item.get("type") == "tensor":
                spec = item["tensor-spec"]
                specs.append(TensorSpec(spec["dtype"], tuple(spec["shape"]), item.get("name")))
            else:
                specs.append(ColSpec(item["type"], item.get("name"), item.get("required", True)))
        return cls(specs)

    @property
    def is_tensor(self) -> bool:
        """Whether the schema is a tensor's (else named columns)."""
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)


@dataclass(frozen=True)
class ModelSignature:
    """What a model takes and returns (MLflow's ``ModelSignature``)."""

    inputs: Schema | None = None
    outputs: Schema | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``signature`` entry of an ``MLmodel`` file."""
        return {
            "inputs": None if self.inputs is None else self.inputs.to_json(),
            "outputs": None if self.outputs is None else self.outputs.to_json(),
            "params": None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSignature:
        """A signature from an ``MLmodel`` file's entry."""
        inputs, outputs = data.get("inputs"), data.get("outputs")
        return cls(
            None if inputs is None else Schema.from_json(inputs),
            None if outputs is None else Schema.from_json(outputs),
        )


def infer_schema(data: Any) -> Schema:  # noqa: ANN401  # DataFrame, Series, array, list
    """The schema of example data: named columns for a DataFrame, a tensor for an array."""
    import numpy as np  # noqa: PLC0415  # examples arrive with numpy loaded
    import pandas as pd  # noqa: PLC0415

    if isinstance(data, pd.DataFrame):
        return Schema([ColSpec(_column_type(data[c].dtype), str(c)) for c in data.columns])
    if isinstance(data, pd.Series):
        return Schema(
            [ColSpec(_column_type(data.dtype), None if data.name is None else str(data.name))]
        )
    if isinstance(data, dict):
        return infer_schema(pd.DataFrame(data))
    array = np.asarray(data)
    return Schema([TensorSpec(str(array.dtype), (-1, *array.shape[1:]))])


def infer_signature(model_input: Any, model_output: Any = None) -> ModelSignature:  # noqa: ANN401
    """A signature from example input (and output), as ``mlflow.models.infer_signature``."""
    outputs = None if model_output is None else infer_schema(model_output)
    return ModelSignature(infer_schema(model_input), outputs)


def enforce(signature: ModelSignature | None, data: Any) -> Any:  # noqa: ANN401
    """Check ``predict``'s input against the signature; returns it, safely cast if needed."""
    if signature is None or signature.inputs is None or not signature.inputs.inputs:
        return data
    if signature.inputs.is_tensor:
        return _enforce_tensor(signature.inputs.inputs[0], data)  # type: ignore[arg-type]
    return _enforce_columns(signature.inputs, data)


def _enforce_tensor(spec: TensorSpec, data: Any) -> np.ndarray:  # noqa: ANN401
    import numpy as np  # noqa: PLC0415

    array = np.asarray(data)
    want = np.dtype(spec.dtype)
    if array.dtype != want:
        if not np.can_cast(array.dtype, want, casting="safe"):
            msg = (
                f"Incompatible input: the model takes a tensor of {want}, got {array.dtype}, "
                "which cannot be cast without loss"
            )
            raise SignatureMismatchError(msg)
        array = array.astype(want)
    shape = spec.shape
    if array.ndim != len(shape) or any(
        w not in (-1, h) for w, h in zip(shape, array.shape, strict=True)
    ):
        msg = f"Incompatible input shape {array.shape}: the model takes shape {tuple(shape)}"
        raise SignatureMismatchError(msg)
    return array


def _enforce_columns(schema: Schema, data: Any) -> pd.DataFrame:  # noqa: ANN401
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    specs = [s for s in schema.inputs if isinstance(s, ColSpec)]
    names = [s.name for s in specs]
    if not isinstance(data, pd.DataFrame):
        array = np.asarray(data)
        if array.ndim == 2 and array.shape[1] == len(specs) and all(names):  # noqa: PLR2004
            data = pd.DataFrame(array, columns=names)
        else:
            msg = (
                f"Incompatible input: the model takes a DataFrame with columns {names}, "
                f"got {type(data).__name__} of shape {getattr(array, 'shape', '?')}"
            )
            raise SignatureMismatchError(msg)
    missing = [s.name for s in specs if s.required and s.name not in data.columns]
    if missing:
        extra = [str(c) for c in data.columns if c not in names]
        also = f"; the input has other columns {extra}" if extra else ""
        msg = f"The model's input is missing column(s) {missing} (it takes {names}){also}"
        raise SignatureMismatchError(msg)
    out = data[[s.name for s in specs if s.name in data.columns]].copy()
    for spec in specs:
        if spec.name not in out.columns:
            continue
        got = _column_type(out[spec.name].dtype)
        if got == spec.type:
            continue
        if spec.type not in _SAFE.get(got, set()):
            msg = (
                f"Incompatible type for column {spec.name!r}: the model takes {spec.type}, "
                f"got {got} ({out[spec.name].dtype}), which cannot be cast without loss"
            )
            raise SignatureMismatchError(msg)
        out[spec.name] = out[spec.name].astype(_TYPES[spec.type])
    checked: pd.DataFrame = out
    return checked
