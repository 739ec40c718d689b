"""Artifacts: files, folders, text, dicts, figures, tables and images of a run."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure
from PIL import Image

import canvasback
from canvasback import Client, InvalidInputError


def artifact_bytes(run_id: str, path: str) -> bytes:
    return Path(canvasback.client().download_artifacts(run_id, path)).read_bytes()


def indexed(run_id: str) -> dict[str, int]:
    return dict(
        canvasback.sql("SELECT path, size FROM artifacts WHERE run_id = ?", [run_id]).fetchall()
    )


def test_log_artifact_is_byte_identical(store, tmp_path):
    payload = os.urandom(100_000)
    src = tmp_path / "blob.bin"
    src.write_bytes(payload)
    with canvasback.start_run() as run:
        canvasback.log_artifact(src)
        canvasback.log_artifact(src, "sub/dir")
    assert artifact_bytes(run.run_id, "blob.bin") == payload
    assert artifact_bytes(run.run_id, "sub/dir/blob.bin") == payload
    assert indexed(run.run_id) == {"blob.bin": 100_000, "sub/dir/blob.bin": 100_000}
    client = canvasback.client()
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run.run_id)] == [
        ("sub", True),
        ("blob.bin", False),
    ]
    assert [f.path for f in client.list_artifacts(run.run_id, "sub/dir")] == ["sub/dir/blob.bin"]
    # The file lives in the store, below the run's artifact folder.
    info = canvasback.get_run(run.run_id).info
    assert (Path(info.artifact_uri) / "blob.bin").is_file()
    assert str(store) in info.artifact_uri


@pytest.mark.usefixtures("store")
def test_relogging_an_artifact_replaces_it(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("first")
    with canvasback.start_run() as run:
        canvasback.log_artifact(src)
        src.write_text("second, longer")
        canvasback.log_artifact(src)
    assert artifact_bytes(run.run_id, "a.txt") == b"second, longer"
    assert indexed(run.run_id) == {"a.txt": len("second, longer")}


@pytest.mark.usefixtures("store")
def test_log_artifacts_copies_a_tree(tmp_path):
    tree = tmp_path / "tree"
    (tree / "inner" / "deeper").mkdir(parents=True)
    files = {
        "top.txt": b"top",
        "inner/mid.json": b'{"a": 1}',
        "inner/deeper/leaf.bin": os.urandom(512),
    }
    for rel, data in files.items():
        (tree / rel).write_bytes(data)
    with canvasback.start_run() as run:
        canvasback.log_artifacts(tree)
        canvasback.log_artifacts(tree, "copy")
    for rel, data in files.items():
        assert artifact_bytes(run.run_id, rel) == data
        assert artifact_bytes(run.run_id, f"copy/{rel}") == data
    assert set(indexed(run.run_id)) == set(files) | {f"copy/{r}" for r in files}


@pytest.mark.usefixtures("store")
def test_log_text_and_dict():
    with canvasback.start_run() as run:
        canvasback.log_text("héllo\nworld", "notes/readme.md")
        canvasback.log_dict({"b": [1, 2], "a": {"x": None}}, "config.json")
        canvasback.log_dict({"lr": 0.1, "layers": [1, 2]}, "config.yaml")
    assert artifact_bytes(run.run_id, "notes/readme.md").decode() == "héllo\nworld"
    assert json.loads(artifact_bytes(run.run_id, "config.json")) == {"b": [1, 2], "a": {"x": None}}
    assert yaml.safe_load(artifact_bytes(run.run_id, "config.yaml")) == {
        "lr": 0.1,
        "layers": [1, 2],
    }
    assert indexed(run.run_id)["notes/readme.md"] == len("héllo\nworld".encode())


@pytest.mark.usefixtures("store")
def test_log_figure_matplotlib():
    mpl.use("Agg")
    fig = Figure(figsize=(2, 2))
    fig.subplots().plot([0, 1, 2], [1, 0, 1])
    with canvasback.start_run() as run:
        canvasback.log_figure(fig, "plots/curve.png")
        canvasback.log_figure(fig, "plots/curve.svg")
    png = artifact_bytes(run.run_id, "plots/curve.png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(png)).size == (200, 200)
    assert b"<svg" in artifact_bytes(run.run_id, "plots/curve.svg")
    with canvasback.start_run(), pytest.raises(TypeError, match="matplotlib or plotly"):
        canvasback.log_figure(object(), "x.png")


@pytest.mark.usefixtures("store")
def test_log_table():
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    with canvasback.start_run() as run:
        canvasback.log_table(frame, "table.json")
        canvasback.log_table({"c": [1.5, 2.5]}, "dict.json")
        canvasback.log_table(frame, "table.parquet")
    assert json.loads(artifact_bytes(run.run_id, "table.json")) == {
        "columns": ["a", "b"],
        "data": [[1, "x"], [2, "y"], [3, "z"]],
    }
    assert json.loads(artifact_bytes(run.run_id, "dict.json")) == {
        "columns": ["c"],
        "data": [[1.5], [2.5]],
    }
    back = pd.read_parquet(io.BytesIO(artifact_bytes(run.run_id, "table.parquet")))
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


@pytest.mark.usefixtures("store")
def test_log_image_pil_and_numpy():
    pil = Image.new("RGB", (4, 3), (255, 0, 0))
    rgb = np.zeros((3, 4, 3), dtype=np.uint8)
    rgb[..., 1] = 255
    gray_float = np.linspace(0.0, 1.0, 12).reshape(3, 4)
    with canvasback.start_run() as run:
        canvasback.log_image(pil, "img/pil.png")
        canvasback.log_image(rgb, "img/rgb.png")
        canvasback.log_image(gray_float, "img/gray.png")
        with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
            canvasback.log_image(gray_float * 2, "img/bad.png")
        with pytest.raises(InvalidInputError, match="shape"):
            canvasback.log_image(np.zeros((2, 2, 2, 2)), "img/bad.png")
    loaded = Image.open(io.BytesIO(artifact_bytes(run.run_id, "img/pil.png")))
    assert loaded.size == (4, 3)
    assert loaded.convert("RGB").getpixel((0, 0)) == (255, 0, 0)
    loaded = Image.open(io.BytesIO(artifact_bytes(run.run_id, "img/rgb.png")))
    assert np.array_equal(np.asarray(loaded), rgb)
    loaded = Image.open(io.BytesIO(artifact_bytes(run.run_id, "img/gray.png")))
    assert np.array_equal(np.asarray(loaded), (gray_float * 255).round().astype(np.uint8))
    assert set(indexed(run.run_id)) == {"img/pil.png", "img/rgb.png", "img/gray.png"}


@pytest.mark.usefixtures("store")
def test_download_folder_and_missing(tmp_path):
    with canvasback.start_run() as run:
        canvasback.log_text("a", "d/a.txt")
        canvasback.log_text("b", "d/e/b.txt")
    client = canvasback.client()
    out = client.download_artifacts(run.run_id, "d", str(tmp_path / "out"))
    assert (Path(out) / "a.txt").read_text() == "a"
    assert (Path(out) / "e" / "b.txt").read_text() == "b"
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        client.download_artifacts(run.run_id, "nope.txt")
    with pytest.raises(InvalidInputError):
        client.download_artifacts(run.run_id, "../../claims")


def test_artifacts_of_a_client_store(tmp_path):
    client = Client(store=tmp_path / "s")
    run = client.create_run()
    run.log_text("content", "x/y.txt")
    client.set_terminated(run.run_id)
    assert [f.path for f in client.list_artifacts(run.run_id, "x")] == ["x/y.txt"]
    assert Path(client.download_artifacts(run.run_id, "x/y.txt")).read_bytes() == b"content"
    assert (tmp_path / "s" / "artifacts" / run.run_id / "x" / "y.txt").read_bytes() == b"content"
