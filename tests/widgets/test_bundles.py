"""The built front ends: present, self-contained, pinned, and shipped in the wheel."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import altair as alt
import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "canvasback" / "static"
ENTRIES = sorted(
    path.stem
    for path in (ROOT / "js").glob("*.ts")
    if not path.name.endswith((".d.ts", ".test.ts"))
)
BUNDLES = sorted(STATIC.glob("*.js"))

# A module specifier or import() that reaches for the network, in any quoting.
REMOTE_IMPORT = re.compile(
    r"""(?:\bimport\s*\(?|\bfrom)\s*["'`](?:https?:)?//"""
    r"""|\bimportScripts\s*\(\s*["'`](?:https?:)?//"""
)
CDN_HOSTS = ("esm.sh", "jsdelivr", "unpkg", "cdnjs", "skypack", "jspm.io")


def test_every_entry_has_a_bundle():
    assert ENTRIES, "no widget entries in js/"
    missing = [name for name in ENTRIES if not (STATIC / f"{name}.js").is_file()]
    assert not missing, f"{missing} not built: run `npm ci && npm run build`"
    assert sorted(path.stem for path in BUNDLES) == ENTRIES, "a bundle without an entry"


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda path: path.name)
def test_bundle_is_self_contained(bundle):
    text = bundle.read_text(encoding="utf-8")
    assert REMOTE_IMPORT.search(text) is None, REMOTE_IMPORT.search(text)
    hosts = [host for host in CDN_HOSTS if host in text]
    assert not hosts, f"{bundle.name} mentions CDN hosts {hosts}"
    # Code splitting would leave relative chunk imports, which a blob URL cannot resolve.
    assert re.search(r"""\bfrom\s*["']\.{1,2}/""", text) is None
    assert re.search(r"""\bimport\s*\(\s*["']\.{1,2}/""", text) is None
    assert "export" in text, "not an ES module"


def test_remote_import_pattern_catches_the_usual_forms():
    for source in (
        'import x from "https://esm.sh/vega-embed@7";',
        "import('https://cdn.example/x.js')",
        'export * from "//unpkg.example/y";',
        'import "http://example.org/side-effect.js";',
    ):
        assert REMOTE_IMPORT.search(source), source
    assert REMOTE_IMPORT.search('const ns = "http://www.w3.org/2000/svg";') is None


def test_vega_lite_pin_matches_altair():
    expected = alt.VEGALITE_VERSION
    package = json.loads((ROOT / "package.json").read_text())
    assert package["devDependencies"]["vega-lite"] == expected
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/vega-lite"]["version"] == expected
    installed = ROOT / "node_modules" / "vega-lite" / "package.json"
    if installed.is_file():
        assert json.loads(installed.read_text())["version"] == expected
    vega_view = (STATIC / "vega_view.js").read_text(encoding="utf-8")
    assert f'"{expected}"' in vega_view, "vega_view.js was built from another vega-lite"


@pytest.mark.wheel
def test_wheel_ships_the_bundles_and_imports_from_a_clean_venv(tmp_path):
    dist = tmp_path / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(dist), "-q"]
    if importlib.util.find_spec("hatchling") and importlib.util.find_spec("hatch_jupyter_builder"):
        cmd.append("--no-build-isolation")  # both are here: skip fetching them again
    # The wheel takes the bundles as built: npm never runs into the tree that other tests
    # (the browser's) read at the same time; with no bundles the build fails, as it should.
    # And only the wheel's canvasback may be imported: no PYTHONPATH to a source tree.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HATCH_JUPYTER_BUILDER_SKIP_NPM"] = "1"
    subprocess.run(cmd, check=True, env=env)
    (wheel,) = dist.glob("canvasback-*.whl")

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped = {name for name in names if name.startswith("canvasback/static/")}
    assert shipped == {f"canvasback/static/{path.name}" for path in BUNDLES}
    assert not [n for n in names if n.startswith(("js/", "node_modules/", "tests/"))]
    with zipfile.ZipFile(wheel) as archive:
        dev_builds = [n for n in shipped if b"sourceMappingURL=data:" in archive.read(n)]
    assert not dev_builds, f"{dev_builds} come from `npm run dev`; run `npm run build`"

    env_dir = tmp_path / "venv"
    venv.create(env_dir)  # no pip of its own (ensurepip takes seconds): this one installs
    python = env_dir / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    subprocess.run([*install, "--no-deps", str(wheel)], check=True, env=env)
    # Dependencies come from the test environment, appended after the clean venv's own
    # site-packages, so `canvasback` itself can only come from the wheel.
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout.strip()
    )
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    check = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        import canvasback
        assert "anywidget" not in sys.modules
        from canvasback.widgets._base import STATIC, bundle
        assert Path(canvasback.__path__[0]).is_relative_to({str(site)!r}), canvasback.__path__
        for name in {ENTRIES!r}:
            assert bundle(name).stat().st_size > 0
        """
    )
    subprocess.run([python, "-c", check], check=True, cwd=tmp_path, env=env)
