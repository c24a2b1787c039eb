"""``python -m segcore``: the command line of :mod:`segcore.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
