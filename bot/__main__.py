"""``python -m bot`` does what the ``carebot`` command does."""

import sys

from bot.launch import main

sys.exit(main())
