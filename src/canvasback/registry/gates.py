"""Gates: checks a version must pass before an alias may point at it.

A gate belongs to one alias of one model and has a name. It is one of:

- a **filter** in the search grammar (``metrics.val_acc >= 0.9 AND tags.validated =
  'yes'``), stored with the model (an ``alias_gate`` fact keyed ``<alias>/<gate>``,
  last-writer-wins), so every process that moves the alias applies it. It is parsed when
  it is set and each time it is applied, then tested on the candidate in memory
  (``query.record_filter``): its text never reaches SQL.
- a **Python callable**, registered in this process alone (a slot of its context):
  other processes, and this one after ``canvasback.reset()``, know nothing of it.

What a filter reads of the candidate version: ``metrics.`` and ``params.`` of its source
run; ``tags.``, the version's tag of that key, else the run's; the attributes
``run_id``, ``status`` (the run's), ``version_number`` (``version``) and
``current_stage`` (``stage``). A value the candidate lacks matches no comparison. A
callable gets the same :class:`Candidate` and returns True or False; anything else it
returns, and any exception it raises, fails the gate.

``force=True`` passes a gate only if the gate was set with ``allow_force=True``: by
default force moves a protected alias, never one past a failing gate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final

from canvasback import query
from canvasback.query import filter as run_filter
from canvasback.query import record_filter
from canvasback.query.filter import BoolOp, Comparison, FilterError
from canvasback.registry import claims, names, reads, tables, writes
from canvasback.registry.entities import RegistryConflictError, RegistryNotFoundError
from canvasback.tracking import validation
from canvasback.tracking.context import Slot, current_context

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from canvasback.query.filter import Entity, Expr
    from canvasback.query.record_filter import Value
    from canvasback.store import Store
    from canvasback.store.read.catalog import Catalog

GATE_FILTERS: Final = run_filter.Grammar(
    ("run_id", "status", "version_number", "current_stage"),
    frozenset(("version_number",)),
    {"version": "version_number", "stage": "current_stage"},
    frozenset(("metric", "param", "tag")),
)
"""What a gate's filter may name: the source run's metrics and params, tags, attributes."""

_PREFIX: Final[dict[str, str]] = {"metric": "metrics.", "param": "params.", "tag": "tags."}
_BARE_KEY: Final = re.compile(r"[\w.]+")


@dataclass(frozen=True)
class Candidate:
    """What a gate judges: the version an alias would point at, with its source run."""

    name: str
    alias: str
    version: int
    source: str
    run_id: str | None
    status: str | None
    """The source run's status (None without a run)."""
    current_stage: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    """The source run's latest metric values."""
    params: Mapping[str, str] = field(default_factory=dict)
    run_tags: Mapping[str, str] = field(default_factory=dict)
    version_tags: Mapping[str, str] = field(default_factory=dict)

    def value(self, entity: Entity, key: str) -> Value:
        """The value a filter's ``entity.key`` reads (None: the candidate has none)."""
        if entity == "metric":
            return self.metrics.get(key)
        if entity == "param":
            return self.params.get(key)
        if entity == "tag":
            return self.version_tags.get(key, self.run_tags.get(key))
        return {
            "run_id": self.run_id,
            "status": self.status,
            "version_number": self.version,
            "current_stage": self.current_stage,
        }.get(key)


@dataclass(frozen=True)
class AliasGate:
    """A gate of a model's alias: a stored filter, or a callable of this process."""

    name: str
    alias: str
    gate: str
    filter_string: str | None = None
    """The filter, stored in the store (None for a callable)."""
    check: Callable[[Candidate], object] | None = None
    """The callable, registered in this process only (None for a filter)."""
    allow_force: bool = False
    """Whether ``force=True`` moves the alias past this gate when it fails."""
    user_id: str | None = None
    host: str | None = None
    timestamp: int | None = None

    @property
    def described(self) -> str:
        """``gate 'min-acc' (metrics.acc >= 0.9)``, or ``(a Python check of this process)``."""
        what = (
            "a Python check of this process"
            if self.check is not None
            else self.filter_string or "a stored gate with no readable filter"
        )
        return f"gate {self.gate!r} ({what})"


@dataclass(frozen=True)
class Failure:
    """A gate the candidate does not pass, and why (the values that fail it)."""

    gate: AliasGate
    why: str

    def __str__(self) -> str:
        return f"{self.gate.described} fails: {self.why}"


# Callables of this process, by (store url, model id, alias) then gate name.
_REGISTERED: Final[Slot[dict[tuple[str, str, str], dict[str, AliasGate]]]] = Slot(
    "alias gates registered in this process", lambda _ctx: {}
)


def set_filter(
    store: Store, name: str, alias: str, gate: str, filter_string: str, *, allow_force: bool
) -> None:
    """Store a filter gate of an alias (replacing one of the same name)."""
    checked_alias, checked_gate = names.alias_name(alias), names.gate_name(gate)
    text = _filter_text(filter_string)
    run_filter.parse_filter(text, GATE_FILTERS)  # a filter that does not parse is refused now
    if not isinstance(allow_force, bool):
        msg = f"Invalid allow_force {allow_force!r} for gate {checked_gate!r}: True or False"
        raise validation.InvalidInputError(msg)
    holding, _log = claims.writable(store, name)
    key = (store.url, holding.entity_id, checked_alias)
    if checked_gate in current_context().get(_REGISTERED).get(key, {}):
        msg = (
            f"Gate {checked_gate!r} of @{checked_alias} of {name!r} is a Python check "
            "registered in this process; delete_alias_gate it first, or name this one otherwise"
        )
        raise RegistryConflictError(msg)
    user, host = writes.who()
    value = json.dumps({"filter": text, "allow_force": allow_force, "user": user, "host": host})
    writes.event(
        store, holding.entity_id, tables.EVENT_ALIAS_GATE, f"{checked_alias}/{checked_gate}", value
    )
    store.flush()


def register(
    store: Store,
    name: str,
    alias: str,
    gate: str,
    check: Callable[[Candidate], object],
    *,
    allow_force: bool,
) -> None:
    """Register a callable gate of an alias, for this process's moves only."""
    checked_alias, checked_gate = names.alias_name(alias), names.gate_name(gate)
    if not callable(check):
        msg = f"Invalid check {check!r} for gate {checked_gate!r}: a callable taking a Candidate"
        raise validation.InvalidInputError(msg)
    if not isinstance(allow_force, bool):
        msg = f"Invalid allow_force {allow_force!r} for gate {checked_gate!r}: True or False"
        raise validation.InvalidInputError(msg)
    model_id = claims.held(store, name).entity_id
    stored = from_facts(reads.alias_guards(store.read(), model_id), name, checked_alias)
    if any(g.gate == checked_gate for g in stored):
        msg = (
            f"Gate {checked_gate!r} of @{checked_alias} of {name!r} is a filter stored in "
            "the store; delete_alias_gate it first, or name this one otherwise"
        )
        raise RegistryConflictError(msg)
    ctx = current_context()
    with ctx.lock:
        registered = ctx.get(_REGISTERED).setdefault((store.url, model_id, checked_alias), {})
        registered[checked_gate] = AliasGate(
            name, checked_alias, checked_gate, check=check, allow_force=allow_force
        )


def delete(store: Store, name: str, alias: str, gate: str) -> None:
    """Remove a gate of an alias: a callable of this process, or a stored filter."""
    checked_alias, checked_gate = names.alias_name(alias), names.gate_name(gate)
    model_id = claims.held(store, name).entity_id
    ctx = current_context()
    with ctx.lock:
        registered = ctx.get(_REGISTERED).get((store.url, model_id, checked_alias), {})
        if registered.pop(checked_gate, None) is not None:
            return
    present = from_facts(reads.alias_guards(store.read(), model_id), name, checked_alias)
    if not any(g.gate == checked_gate for g in present):
        shown = ", ".join(repr(g.gate) for g in present) or "none"
        msg = f"@{checked_alias} of {name!r} has no gate {checked_gate!r}; its gates are {shown}"
        raise RegistryNotFoundError(msg)
    holding, _log = claims.writable(store, name)
    key = f"{checked_alias}/{checked_gate}"
    writes.event(store, holding.entity_id, tables.EVENT_ALIAS_GATE, key, None)
    store.flush()


def listed(store: Store, name: str, alias: str | None = None) -> list[AliasGate]:
    """The gates of a model's aliases (or of one), stored ones and this process's."""
    model_id = claims.held(store, name).entity_id
    checked = None if alias is None else names.alias_name(alias)
    found = from_facts(reads.alias_guards(store.read(), model_id), name, checked)
    for (url, owner, of), registered in current_context().get(_REGISTERED).items():
        if url == store.url and owner == model_id and checked in (None, of):
            found += [replace(g, name=name) for g in registered.values()]
    return sorted(found, key=lambda g: (g.alias, g.gate))


def registered_for(store: Store, model_id: str, alias: str) -> list[AliasGate]:
    """The callables this process registered for an alias of a model."""
    return list(current_context().get(_REGISTERED).get((store.url, model_id, alias), {}).values())


def registered_of_model(store: Store, model_id: str) -> list[AliasGate]:
    """The callables this process registered for any alias of a model."""
    return [
        gate
        for (url, owner, _alias), registered in current_context().get(_REGISTERED).items()
        if url == store.url and owner == model_id
        for gate in registered.values()
    ]


def from_facts(facts: list[reads.Row], name: str, alias: str | None = None) -> list[AliasGate]:
    """The stored gates of one alias (or all) among a model's ``reads.alias_guards``.

    A value that is not the JSON written here keeps its gate, with no filter (it refuses).
    """
    found = []
    for fact in facts:
        of, _, gate = fact["key"].partition("/")
        if fact["kind"] != tables.EVENT_ALIAS_GATE or alias not in (None, of):
            continue
        value = reads.json_object(fact["value"])
        text = value.get("filter")
        found.append(
            AliasGate(
                name=name,
                alias=of,
                gate=gate,
                filter_string=text if isinstance(text, str) else None,
                allow_force=value.get("allow_force") is True,
                user_id=value.get("user"),
                host=value.get("host"),
                timestamp=fact["timestamp"],
            )
        )
    return found


def candidate(store: Store, catalog: Catalog, row: reads.Row, alias: str) -> Candidate:
    """The candidate a version's row makes for an alias, read from ``catalog``."""
    run_id = row["run_id"]
    data = query.run_data(catalog, run_id) if run_id else {}
    info = query.run_info(catalog, run_id, store.address) if run_id else None
    key = (row["model_id"], row["version"])
    return Candidate(
        name=row["name"],
        alias=alias,
        version=row["version"],
        source=row["source"],
        run_id=run_id,
        status=None if info is None else info["status"],
        current_stage=row["current_stage"],
        metrics=data.get("metrics", {}),
        params=data.get("params", {}),
        run_tags=data.get("tags", {}),
        version_tags=reads.version_tags(catalog, [row["model_id"]]).get(key, {}),
    )


def failures(gates: list[AliasGate], candidate: Candidate) -> list[Failure]:
    """The gates the candidate fails, each with why."""
    found = []
    for gate in gates:
        why = (
            _filter_fails(gate, candidate) if gate.check is None else _check_fails(gate, candidate)
        )
        if why is not None:
            found.append(Failure(gate, why))
    return found


def _filter_fails(gate: AliasGate, candidate: Candidate) -> str | None:
    if not gate.filter_string or not gate.filter_string.strip():
        return "its stored value holds no filter"  # not written by canvasback: refuse
    try:
        expr = run_filter.parse_filter(gate.filter_string, GATE_FILTERS)
    except FilterError as exc:  # written by hand, or by a later canvasback: fail closed
        return f"its filter does not parse here ({exc.reason})"
    if record_filter.matches(expr, candidate):
        return None
    assert expr is not None  # a None filter matches every candidate  # noqa: S101
    return "; ".join(_explained(expr, candidate))


def _check_fails(gate: AliasGate, candidate: Candidate) -> str | None:
    assert gate.check is not None  # noqa: S101
    try:
        result = gate.check(candidate)
    except Exception as exc:  # noqa: BLE001  # a gate that cannot decide refuses
        return f"it raised {type(exc).__name__}: {exc}"
    passed = _truth(result)
    if passed is None:
        return f"it returned {result!r}, not True or False"
    return None if passed else "it returned False"


def _truth(result: object) -> bool | None:
    """True or False for a bool (or a numpy bool scalar); None for anything else."""
    if isinstance(result, bool):
        return result
    dtype = getattr(result, "dtype", None)
    if getattr(dtype, "kind", None) == "b" and getattr(result, "shape", None) == ():
        return bool(result)
    return None


def _explained(expr: Expr, candidate: Candidate) -> list[str]:
    """The comparisons that fail, with the values they read (every one, under an OR)."""
    if isinstance(expr, BoolOp):
        return [
            why
            for operand in expr.operands
            if not record_filter.matches(operand, candidate)
            for why in _explained(operand, candidate)
        ]
    return [_failed_comparison(expr, candidate)]


def _failed_comparison(test: Comparison, candidate: Candidate) -> str:
    key = test.key if _BARE_KEY.fullmatch(test.key) else f"`{test.key}`"
    shown = f"{_PREFIX.get(test.entity, '')}{key}"
    value = candidate.value(test.entity, test.key)
    if value is None:
        found = "missing"
    elif test.entity == "tag":
        whose = "the version's" if test.key in candidate.version_tags else "the run's"
        found = f"{value!r} ({whose} tag)"
    else:
        found = repr(value)
    if isinstance(test.value, tuple):
        needed = f"{test.op} ({', '.join(repr(v) for v in test.value)})"
    else:
        needed = test.op if test.value is None else f"{test.op} {test.value!r}"
    return f"{shown} is {found} (needs {needed})"


def _filter_text(filter_string: object) -> str:
    if not isinstance(filter_string, str) or not filter_string.strip():
        msg = (
            f"Invalid gate filter {filter_string!r}: a filter such as "
            "\"metrics.val_acc >= 0.9 AND tags.validated = 'yes'\" is required"
        )
        raise validation.InvalidInputError(msg)
    return validation.unicode_text(f"gate filter {filter_string[:40]!r}", filter_string)
