"""A comm between the harness page and a RunTable in this process, without a kernel.

The harness's stand-in model has no kernel, so :class:`Bridge` plays the comm: the
page's ``model.send`` and ``model.save_changes`` call exposed Python functions, which
run the widget's own message handler (or ``set_state``, as ipywidgets does for a front
end's change) and hand back the replies and every trait Python changed meanwhile.

The browser tests and ``benchmarks/bench_browser.py`` both use it; neither directory is
a package, so each loads this file with :func:`load`.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

    from canvasback.widgets.run_table import RunTable

HERE = Path(__file__).resolve().parent
LOADED = ".cb-rt-row[data-loaded=true]"
SYNCED = (
    "experiment_ids",
    "filter",
    "summary_filters",
    "sort",
    "columns",
    "available_columns",
    "group_by",
    "selected_ids",
    "selected_shown",
    "total",
    "error",
    "hint",
    "generation",
    "height",
    "column_widths",
)

# Installed before the harness's own script: wraps the stand-in model as it is created,
# so that the widget's first request already goes to Python.
_BRIDGE_JS = """
(() => {
  let current;
  Object.defineProperty(window, "model", {
    configurable: true,
    get() { return current; },
    set(model) {
      current = model;
      const apply = (text) => {
        const result = JSON.parse(text);
        for (const [key, value] of Object.entries(result.state)) model.update(key, value);
        for (const message of result.messages) {
          model.receive(message.content, message.buffers.map((b) => ({ __bytes__: b })));
        }
      };
      const send = model.send.bind(model);
      model.send = (content, callbacks, buffers) => {
        send(content, callbacks, buffers);
        window.cbPythonSend(JSON.stringify(content)).then(apply);
      };
      const save = model.save_changes.bind(model);
      model.save_changes = () => {
        const changes = {};
        for (const key of model.changed) changes[key] = model.state[key];
        save();
        window.cbPythonSave(JSON.stringify(changes)).then(apply);
      };
    },
  });
})();
"""


class Bridge:
    """The comm between the harness page and a RunTable in this process."""

    def __init__(self, harness: Any, widget: RunTable) -> None:
        self.harness = harness
        self.widget = widget
        self.outbox: list[tuple[dict[str, Any], list[bytes]]] = []
        self.changed: set[str] = set()
        self.requests: list[dict[str, Any]] = []
        self.handler_ms: list[tuple[str, float]] = []
        widget.send = lambda content, buffers=None: self.outbox.append((content, buffers or []))
        widget.observe(lambda change: self.changed.add(change["name"]), names=list(SYNCED))
        page = harness.page
        page.expose_function("cbPythonSend", self._on_send)
        page.expose_function("cbPythonSave", self._on_save)
        page.add_init_script(_BRIDGE_JS)

    def mount(self):
        state = {name: getattr(self.widget, name) for name in SYNCED}
        self.changed.clear()
        return self.harness.mount("run_table", state)

    def _on_send(self, text: str) -> str:
        content = json.loads(text)
        self.requests.append(content)
        started = time.perf_counter()
        self.widget._on_custom_message(self.widget, content, [])
        self.handler_ms.append((content.get("kind"), (time.perf_counter() - started) * 1000))
        return self._drain({})

    def _on_save(self, text: str) -> str:
        changes = json.loads(text)
        self.widget.set_state(changes)
        return self._drain(changes)

    def _drain(self, echoed: dict[str, Any]) -> str:
        messages = [
            {"content": content, "buffers": [base64.b64encode(bytes(b)).decode() for b in buffers]}
            for content, buffers in self.outbox
        ]
        self.outbox.clear()
        state = {}
        for name in sorted(self.changed):
            value = getattr(self.widget, name)
            if name not in echoed or echoed[name] != value:
                state[name] = value
        self.changed.clear()
        return json.dumps({"messages": messages, "state": state})

    def kinds(self) -> list[str]:
        return [r["kind"] for r in self.requests]


def load(path: Path, name: str) -> ModuleType:
    """Import a module of the test tree by its path (the tree is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def write_synthetic_runs(root: Path, n: int, **kwargs: Any) -> str:
    """``write_synthetic_runs`` of the run table's unit tests: ``n`` runs in seconds."""
    unit_tests = load(HERE.parent / "widgets" / "test_run_table.py", "_run_table_unit_tests")
    experiment_id: str = unit_tests.write_synthetic_runs(root, n, **kwargs)
    return experiment_id
