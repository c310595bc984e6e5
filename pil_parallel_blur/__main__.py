"""``python -m pil_parallel_blur``: the command line."""

import sys

from .cli import main

sys.exit(main())
