"""Fixtures of the widget tests."""

from __future__ import annotations

import pytest

from canvasback.widgets.compare import compare


@pytest.fixture
def widgets():
    """Make Compare widgets as ``compare(...)`` does; each is closed after the test."""
    made = []

    def make(*args, **kwargs):
        widget = compare(*args, **kwargs)
        made.append(widget)
        return widget

    yield make
    for widget in made:
        widget.close()
