"""``python -m pil_parallel_blur``: the command line."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
