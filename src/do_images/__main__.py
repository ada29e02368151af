"""``python -m do_images``: the command line, the same as ``do-images``."""

import sys

from .cli import main

sys.exit(main())
