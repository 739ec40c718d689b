"""``import canvasback`` loads none of the heavy libraries: each loads on first use."""

from __future__ import annotations

import json

# Each costs tens to hundreds of milliseconds at import; a script that logs a few
# metrics needs none of them before its first flush (pyarrow) or read (DuckDB).
HEAVY = (
    "pandas",
    "duckdb",
    "pyarrow",
    "numpy",
    "altair",
    "anywidget",
    "yaml",
    "importlib.metadata",
)


def test_import_canvasback_loads_no_heavy_library(run_python):
    code = (
        "import json, sys\nimport canvasback\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    done = run_python(code)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_version_is_there_when_asked():
    from importlib.metadata import version  # noqa: PLC0415

    import canvasback  # noqa: PLC0415

    assert canvasback.__version__ == version("canvasback")
