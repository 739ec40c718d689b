"""What a searching sweep explores: each parameter's values, as Optuna's distributions.

A space is a dict of parameter -> spec, in Optuna's and W&B's words:

* a list: the values to choose from (categorical), e.g. ``["adam", "sgd"]``;
* a ``(low, high)`` tuple: a uniform range, of ints when both bounds are ints, else of
  floats;
* :func:`uniform`, :func:`loguniform`, :func:`int_range`: a range with a step or on a
  log scale, e.g. ``loguniform(1e-4, 1e-1)``, ``int_range(2, 8, step=2)``.

Everything here is plain data (sent to worker processes) and checked before any trial
runs; Optuna itself is imported only by :func:`distributions`, when a search runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from canvasback.projects.params import ParamError

if TYPE_CHECKING:
    from collections.abc import Mapping

SAMPLERS: Final = ("tpe", "random", "grid", "cmaes")
PRUNERS: Final = ("median", "halving")
SPEC_HELP: Final = (
    "a list of values to choose from, a (low, high) tuple, or "
    "cb.search.uniform / loguniform / int_range(low, high, ...)"
)
_CHOICE_TYPES: Final = (type(None), bool, int, float, str)


@dataclass(frozen=True)
class Range:
    """A numeric range: ints or floats, with an optional step or on a log scale."""

    low: float
    high: float
    integer: bool = False
    log: bool = False
    step: float | None = None

    def text(self) -> str:
        """The range as its helper would be written."""
        if self.integer:
            extra = (
                ", log=True"
                if self.log
                else ("" if self.step in {None, 1} else f", step={self.step:g}")
            )
            return f"int_range({self.low:g}, {self.high:g}{extra})"
        if self.log:
            return f"loguniform({self.low:g}, {self.high:g})"
        extra = "" if self.step is None else f", step={self.step:g}"
        return f"uniform({self.low:g}, {self.high:g}{extra})"


def uniform(low: float, high: float, *, step: float | None = None) -> Range:
    """Floats from ``low`` to ``high`` (both included), every ``step`` apart if given."""
    return _checked(Range(low, high, step=step), "uniform")


def loguniform(low: float, high: float) -> Range:
    """Floats from ``low`` to ``high`` on a log scale (both above 0), as for learning rates."""
    return _checked(Range(low, high, log=True), "loguniform")


def int_range(low: int, high: int, *, step: int = 1, log: bool = False) -> Range:
    """Ints from ``low`` to ``high`` (both included), ``step`` apart, or on a log scale."""
    for name, value in (("low", low), ("high", high), ("step", step)):
        if type(value) is not int:
            msg = f"Invalid int_range {name} {value!r}: a whole number (int)"
            raise ParamError(msg)
    return _checked(
        Range(low, high, integer=True, log=log, step=None if log else step), "int_range"
    )


def _checked(spec: Range, helper: str) -> Range:
    for name, value in (("low", spec.low), ("high", spec.high)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            msg = f"Invalid {helper} {name} {value!r}: a finite number"
            raise ParamError(msg)
    if spec.low >= spec.high:
        msg = f"Invalid {helper}({spec.low!r}, {spec.high!r}): low must be below high"
        raise ParamError(msg)
    if spec.log and spec.low <= 0:
        msg = f"Invalid {helper}({spec.low!r}, {spec.high!r}): a log scale needs low above 0"
        raise ParamError(msg)
    if spec.step is not None and (
        isinstance(spec.step, bool) or not isinstance(spec.step, int | float) or spec.step <= 0
    ):
        msg = f"Invalid {helper} step {spec.step!r}: a number above 0"
        raise ParamError(msg)
    return spec


Spec = Range | tuple[Any, ...]
"""What a parameter's spec is once read: a range, or the tuple of its choices."""


def parse_space(space: object) -> dict[str, Spec]:
    """A space as given, checked: each parameter's range or choices (a refusal names it)."""
    if not isinstance(space, dict) or not space:
        msg = f"Invalid space {space!r}: a dict of parameter -> {SPEC_HELP}"
        raise ParamError(msg)
    return {_param_name(key): _spec(key, value) for key, value in space.items()}


def _param_name(key: object) -> str:
    if not isinstance(key, str) or not key:
        msg = f"Invalid space parameter name {key!r}: a non-empty string"
        raise ParamError(msg)
    return key


def _spec(key: str, value: object) -> Spec:
    if isinstance(value, Range):
        return value
    if isinstance(value, list):
        if not value:
            msg = f"Invalid space for {key!r}: an empty list; give the values to choose from"
            raise ParamError(msg)
        for choice in value:
            if not isinstance(choice, _CHOICE_TYPES):
                msg = (
                    f"Invalid choice {choice!r} for {key!r}: a choice is None, a bool, an "
                    "int, a float or a string"
                )
                raise ParamError(msg)
        return tuple(value)
    if isinstance(value, tuple) and len(value) == 2:  # noqa: PLR2004  # (low, high)
        low, high = value
        if all(type(v) is int for v in value):
            return int_range(low, high)
        if all(type(v) in {int, float} for v in value):
            return _checked(Range(float(low), float(high)), f"range for {key!r}")
    msg = f"Invalid space for {key!r}: {value!r}; allowed is {SPEC_HELP}"
    raise ParamError(msg)


def grid_values(space: Mapping[str, Spec]) -> dict[str, list[Any]]:
    """Every value of each parameter, for the grid sampler: ranges of ints only."""
    out: dict[str, list[Any]] = {}
    for key, spec in space.items():
        if isinstance(spec, tuple):
            out[key] = list(spec)
        elif spec.integer and not spec.log:
            out[key] = list(range(int(spec.low), int(spec.high) + 1, int(spec.step or 1)))
        else:
            msg = (
                f"The grid sampler cannot search {key!r}: {spec.text()} has no finite list of "
                "values; give a list (or an int_range), or use sampler='tpe', 'random' or 'cmaes'"
            )
            raise ParamError(msg)
    return out


def distributions(space: Mapping[str, Spec]) -> dict[str, Any]:
    """The space as Optuna's distributions (imports Optuna)."""
    from optuna.distributions import (  # noqa: PLC0415  # only a search needs Optuna
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for key, spec in space.items():
        if isinstance(spec, tuple):
            out[key] = CategoricalDistribution(spec)
        elif spec.integer:
            step = 1 if spec.step is None else int(spec.step)
            out[key] = IntDistribution(int(spec.low), int(spec.high), log=spec.log, step=step)
        else:
            out[key] = FloatDistribution(spec.low, spec.high, log=spec.log, step=spec.step)
    return out


def space_text(space: Mapping[str, Spec]) -> str:
    """The space as a line: ``lr=loguniform(0.0001, 0.1), depth=[2, 4]``."""
    return ", ".join(
        f"{k}={v.text()}" if isinstance(v, Range) else f"{k}={list(v)!r}" for k, v in space.items()
    )


@dataclass(frozen=True)
class StudySpec:
    """A sweep's Optuna study, as every worker opens it (plain data: it is pickled)."""

    journal: str
    """The study's journal file (Optuna's JournalStorage), beside the store."""
    name: str
    space: dict[str, Spec]
    metric: str
    mode: str
    sampler: str
    pruner: str | None
    seed: int | None


def space_to_json(space: Mapping[str, Spec]) -> dict[str, Any]:
    """The space as JSON (kept in the study, read back by a resumed sweep)."""
    return {
        k: {"choices": list(v)}
        if isinstance(v, tuple)
        else {"low": v.low, "high": v.high, "integer": v.integer, "log": v.log, "step": v.step}
        for k, v in space.items()
    }


def space_from_json(data: Mapping[str, Any]) -> dict[str, Spec]:
    """A space as :func:`space_to_json` wrote it."""
    return {k: tuple(v["choices"]) if "choices" in v else Range(**v) for k, v in data.items()}
