"""``python -m do_images.cli``: the same as ``do-images``."""

import sys

from ._main import main

sys.exit(main())
