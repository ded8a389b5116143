"""Finding: the README's Space front matter lacked sdk_version, python_version, hf_oauth,
preload_from_hub and hardware (a Space built from it would pick versions of its own). Parsed here
with the Hub client's own front-matter reader and checked against the pins the tests ran with."""

from __future__ import annotations

import re
from pathlib import Path

from huggingface_hub import SpaceHardware
from huggingface_hub.repocard import metadata_load
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;#]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def _requirement(name: str) -> Requirement:
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-") and Requirement(line).name.lower() == name:
            return Requirement(line)
    raise AssertionError(f"{name} is not in requirements.txt")


def test_front_matter_is_complete_and_agrees_with_the_pins():
    meta = metadata_load(REPO / "README.md")
    assert meta is not None, "README.md has no front matter"
    assert meta["sdk"] == "gradio"
    pins = _pins()
    assert str(meta["sdk_version"]) == pins["gradio"], "sdk_version must be the gradio that constraints.txt pins"
    assert _requirement("gradio").specifier.contains(str(meta["sdk_version"]))
    assert (REPO / meta["app_file"]).is_file()
    import tomllib

    requires_python = SpecifierSet(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"])
    assert isinstance(meta["python_version"], str) and requires_python.contains(meta["python_version"] + ".0")
    assert meta["hf_oauth"] is True  # reviewers sign in with Hugging Face (SPOT_REVIEWERS)
    assert "lingcco/fakeVLM" in [entry.split()[0] for entry in meta["preload_from_hub"]]
    assert meta["suggested_hardware"] in {h.value for h in SpaceHardware}
    assert "lingcco/fakeVLM" in meta["models"]


def test_space_installs_the_pinned_versions():
    lines = [ln.strip() for ln in (REPO / "requirements.txt").read_text().splitlines()]
    assert "-c constraints.txt" in lines  # a Space runs `pip install -r requirements.txt`: the pins apply
    pins = _pins()
    assert _requirement("torch").specifier.contains(pins["torch"])
    for pkg in (REPO / "packages.txt").read_text().split():
        assert re.fullmatch(r"[a-z0-9][a-z0-9.+\-]+", pkg), f"packages.txt: {pkg!r} is not a Debian package name"
