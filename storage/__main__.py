"""Entry point for `python -m storage`; see storage/cli.py."""

import sys

from .cli import main

sys.exit(main())
