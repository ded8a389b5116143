"""`python -m explain IMAGE...`: the command-line detector (explain/cli.py)."""

from .cli import main

raise SystemExit(main())
