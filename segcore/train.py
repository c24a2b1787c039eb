"""``python -m segcore.train``: train a U-Net; see :mod:`segcore.unet.train`."""

from __future__ import annotations

import sys

from .unet.train import main

if __name__ == "__main__":
    sys.exit(main())
