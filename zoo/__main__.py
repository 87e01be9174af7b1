"""``python -m zoo ...``: the ``zoo`` command (see :func:`zoo.cli.main`)."""

import sys

from zoo.cli import main

sys.exit(main())
