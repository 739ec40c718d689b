"""Git as a user runs it, for the tests that build a repository to capture."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def run_git(repo: Path, *args: str) -> str:
    """Run ``git -C repo args...``; its output, stripped (a failure raises)."""
    out = subprocess.run(
        ["git", "-C", str(repo), *args],  # noqa: S607  # git from PATH, as a user runs it
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()
