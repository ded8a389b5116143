"""`python -m demo.classroom [the flags of app.py]`: a shortcut for app.py, which serves /classroom."""

from app import main

raise SystemExit(main())
