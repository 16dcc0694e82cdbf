"""The ``carebot`` command's entry point: import the application, then run it.

Importing SQLAlchemy, pydantic and the models creates a few hundred thousand objects
that live as long as the process. The cyclic garbage collector would walk them again
and again while they are made and find nothing to free (about a tenth of a one-shot
command's start-up), so it is paused for the imports, and what they built is moved out
of its reach (``gc.freeze``) before the command runs with it switched back on.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``carebot`` with ``argv`` (default: the command line)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        from bot.cli import main as run
    finally:
        if was_enabled:
            gc.enable()
    gc.freeze()
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
