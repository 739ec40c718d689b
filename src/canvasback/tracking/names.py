"""Readable random run names, as MLflow gives runs that were not named."""

from __future__ import annotations

import random
from typing import Final

_ADJECTIVES: Final = (
    "able", "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fair", "fast",
    "gentle", "glad", "grand", "keen", "kind", "lively", "lucky", "merry", "neat", "noble",
    "polite", "proud", "quick", "quiet", "rare", "sharp", "shy", "silent", "smart", "swift",
    "tidy", "vivid", "warm", "wise", "witty", "zesty",
)
_NOUNS: Final = (
    "ant", "bass", "bat", "bear", "bee", "canvasback", "crane", "crow", "deer", "dove",
    "eagle", "eel", "finch", "fox", "frog", "goose", "hare", "hawk", "heron", "ibis",
    "jay", "koi", "lark", "lynx", "mink", "moth", "newt", "otter", "owl", "panda", "quail",
    "robin", "seal", "snail", "stork", "swan", "teal", "toad", "trout", "vole", "wren",
)

_rng = random.Random()  # noqa: S311  # names need variety, not secrecy


def random_run_name() -> str:
    """A name like ``swift-heron-417``."""
    return f"{_rng.choice(_ADJECTIVES)}-{_rng.choice(_NOUNS)}-{_rng.randrange(1000)}"
