"""``python -m bot`` does what the ``carebot`` command does."""

import sys

from bot.cli import main

sys.exit(main())
