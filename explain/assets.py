"""Where the shipped files (assets/: toy model, examples, CSS, reference configs) are.

In a checkout they sit beside the packages; `pip install .` puts them in the `spot_the_fake` package
(pyproject.toml maps the checkout's root folder to it), next to these packages in site-packages.
"""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]  # the checkout, or site-packages when installed


def _find() -> Path:
    for candidate in (_ROOT / "assets", _ROOT / "spot_the_fake" / "assets"):
        if (candidate / "toy-fakevlm").is_dir():  # the marker: a bare `assets` folder of another dist won't have it
            return candidate
    return _ROOT / "assets"


ASSETS_DIR = _find()
