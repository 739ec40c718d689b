"""``python -m canvasback.cli``: the ``canvasback`` command."""

from __future__ import annotations

import sys

from canvasback.cli import main

sys.exit(main())
