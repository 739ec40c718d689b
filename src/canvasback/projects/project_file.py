"""Project folders: ``canvasback.toml`` or MLflow's ``MLproject``, and their entry points.

``canvasback.toml`` names entry points that are notebooks, scripts or commands, with
typed parameters::

    [project]
    name = "churn"

    [entry_points.main]
    notebook = "train.ipynb"
    parameters = { lr = { type = "float", default = 0.01 }, epochs = 3 }

    [entry_points.evaluate]
    script = "evaluate.py"          # run as: python evaluate.py --key value ...

    [entry_points.prepare]
    command = "python prepare.py --rows {rows}"
    parameters = { rows = { type = "int", default = 1000 } }

An ``MLproject`` file is read as MLflow reads it: entry points with a ``command`` and
``parameters`` (a type, or ``{type, default}``); parameters it does not declare are
passed on as ``--key value``. Its environment keys (``python_env``, ``conda_env``,
``docker_env``) are ignored: the command runs in the current environment. As in
MLflow, a ``.py`` or ``.sh`` file of the folder is an entry point too.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from canvasback.exceptions import MlflowException
from canvasback.projects.params import TYPES, ParamError, ParamSpec, coerce, type_of_default

PROJECT_FILE: Final = "canvasback.toml"
MLPROJECT_FILE: Final = "MLproject"
# The keys canvasback.toml knows, per table: any other is a typo, refused by name.
_ENTRY_KEYS: Final = ("notebook", "script", "command", "parameters")
_PARAM_KEYS: Final = ("type", "default")
# Defaults of these types are checked when the file is read; a path or URI may name
# something made later.
_CHECKED_DEFAULTS: Final = frozenset({"string", "str", "int", "float", "bool"})


class ProjectError(MlflowException, ValueError):
    """A project folder, file or entry point that cannot be run as asked."""


@dataclass(frozen=True)
class EntryPoint:
    """One runnable thing of a project: a notebook, or a command (template)."""

    name: str
    params: dict[str, ParamSpec] = field(default_factory=dict)
    notebook: Path | None = None
    command: str | None = None
    strict: bool = True
    """Whether a parameter not declared is an error (else: appended as ``--key value``)."""


@dataclass(frozen=True)
class Project:
    """A project folder and its entry points."""

    root: Path
    name: str
    file: Path | None
    entry_points: dict[str, EntryPoint]

    def entry_point(self, name: str | None) -> EntryPoint:
        """An entry point by name (default ``main``); an error names those that exist."""
        name = name or "main"
        found = self.entry_points.get(name)
        if found is not None:
            return found
        script = self.root / name
        if name.endswith((".py", ".sh")) and script.is_file() and script.parent == self.root:
            runner = "python" if name.endswith(".py") else "bash"
            return EntryPoint(name, {}, command=f"{runner} {name}", strict=False)
        if name.endswith(".ipynb") and script.is_file():
            return EntryPoint(name, {}, notebook=script)
        where = f"{self.file}" if self.file else f"the folder {self.root}"
        known = ", ".join(sorted(self.entry_points)) or "none"
        msg = (
            f"No entry point {name!r} in {where}: its entry points are {known} "
            "(a .py, .sh or .ipynb file of the folder can be named too)"
        )
        raise ProjectError(msg)


def load_project(path: str | Path) -> Project:
    """The project at ``path``: a folder, its ``canvasback.toml`` or its ``MLproject``."""
    target = Path(path).expanduser().absolute()
    if not target.exists():
        msg = f"No project at {str(target)!r}: no such file or folder"
        raise ProjectError(msg)
    file: Path | None
    if target.is_file():
        root, file = target.parent, target
    else:
        root = target
        file = next(
            (
                candidate
                for candidate in (root / PROJECT_FILE, *_mlproject_files(root))
                if candidate.is_file()
            ),
            None,
        )
    if file is None:
        return Project(root, root.name, None, {})
    if file.name == PROJECT_FILE:
        return _from_toml(root, file)
    if file.name.lower() in ("mlproject", "mlproject.yaml", "mlproject.yml"):
        return _from_mlproject(root, file)
    msg = f"{str(file)!r} is neither a {PROJECT_FILE} nor an {MLPROJECT_FILE} file"
    raise ProjectError(msg)


def _mlproject_files(root: Path) -> list[Path]:
    # MLflow matches the name case-insensitively.
    return [p for p in sorted(root.iterdir()) if p.name.lower() == "mlproject" and p.is_file()]


def _from_toml(root: Path, file: Path) -> Project:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"Cannot read {file}: {exc}"
        raise ProjectError(msg) from None
    project = _table(data.get("project", {}), f"{file} [project]")
    name = _text(project, "name", f"[project] of {file}") if "name" in project else root.name
    entries: dict[str, EntryPoint] = {}
    for entry, raw in _table(data.get("entry_points", {}), f"{file} [entry_points]").items():
        where = f"entry point {entry!r} of {file}"
        spec = _table(raw, where)
        _known_keys(spec, _ENTRY_KEYS, where)
        params = _params(_table(spec.get("parameters", {}), where), where)
        kinds = [k for k in ("notebook", "script", "command") if k in spec]
        if len(kinds) != 1:
            msg = f"{where.capitalize()} needs exactly one of notebook, script or command"
            raise ProjectError(msg)
        text = _text(spec, kinds[0], where)
        if kinds[0] == "notebook":
            entries[entry] = EntryPoint(entry, params, notebook=root / text)
        elif kinds[0] == "script":
            runner = "python" if text.endswith(".py") else "bash"
            entries[entry] = EntryPoint(entry, params, command=f"{runner} {text}")
        else:
            entries[entry] = EntryPoint(entry, params, command=text)
    return Project(root, name, file, entries)


def _from_mlproject(root: Path, file: Path) -> Project:
    import yaml  # type: ignore[import-untyped]  # noqa: PLC0415  # only MLproject needs YAML

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        msg = f"Cannot read {file}: {exc}"
        raise ProjectError(msg) from None
    data = _table(data, str(file))
    entries: dict[str, EntryPoint] = {}
    for entry, raw in _table(data.get("entry_points", {}), f"{file} entry_points").items():
        where = f"entry point {entry!r} of {file}"
        spec = _table(raw, where)
        if "command" not in spec:
            msg = f"{where.capitalize()} has no command"
            raise ProjectError(msg)
        params = _params(_table(spec.get("parameters") or {}, where), where, mlflow=True)
        command = _text(spec, "command", where)
        entries[str(entry)] = EntryPoint(str(entry), params, command=command, strict=False)
    name = _text(data, "name", str(file)) if data.get("name") is not None else root.name
    return Project(root, name, file, entries)


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        msg = f"{where} must be a table of keys and values, not {type(value).__name__}"
        raise ProjectError(msg)
    return {str(k): v for k, v in value.items()}


def _text(table: dict[str, Any], key: str, where: str) -> str:
    """A key's value that must be text (a path, a command line or a name)."""
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        msg = (
            f"Invalid {key} = {value!r} in {where}: it must be a non-empty string "
            f"(in quotes), not {type(value).__name__}"
        )
        raise ProjectError(msg)
    return value


def _known_keys(table: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        msg = (
            f"Unknown key {unknown[0]!r} (= {table[unknown[0]]!r}) in {where}: "
            f"the keys are {', '.join(known)}"
        )
        raise ProjectError(msg)


def _params(specs: dict[str, Any], where: str, *, mlflow: bool = False) -> dict[str, ParamSpec]:
    out: dict[str, ParamSpec] = {}
    try:
        for name, spec in specs.items():
            if mlflow and isinstance(spec, str):
                out[name] = ParamSpec(name, spec)  # MLflow's short form: a type, no default
            elif isinstance(spec, dict):
                if not mlflow:
                    _known_keys(spec, _PARAM_KEYS, f"parameter {name!r} of {where}")
                kind = spec.get("type", "string")
                if not isinstance(kind, str):
                    msg = (
                        f"Invalid type = {kind!r} of parameter {name!r} in {where}: it must "
                        f"be a string, one of {', '.join(TYPES)}"
                    )
                    raise ProjectError(msg)
                out[name] = ParamSpec(name, kind, spec.get("default"), "default" in spec)
                if not mlflow and "default" in spec and kind in _CHECKED_DEFAULTS:
                    coerce(out[name], spec["default"], where=where)
            else:  # canvasback.toml's short form: a default, whose type it declares
                out[name] = ParamSpec(name, type_of_default(spec), spec, has_default=True)
    except ParamError as exc:
        msg = f"{exc} (in {where})"
        raise ProjectError(msg) from None
    return out
