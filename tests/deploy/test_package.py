"""Finding: `pip install .` failed (flat layout, no build system), with no console command and
unbounded dependencies. Now: a wheel installed into a fresh venv gives working commands that run
outside the checkout and find the shipped toy model; the dependency lists agree and are bounded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _requirements(path: Path) -> list[Requirement]:
    lines = (ln.split("#")[0].strip() for ln in path.read_text().splitlines())
    return [Requirement(ln) for ln in lines if ln and not ln.startswith("-")]


def _pins() -> dict[str, str]:
    reqs = _requirements(REPO / "constraints.txt")
    return {r.name.lower().replace("_", "-"): str(next(iter(r.specifier)).version) for r in reqs}


def test_every_package_of_the_checkout_is_installed():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {str(p.parent.relative_to(REPO)).replace(os.sep, ".")
             for top in ("demo", "explain", "storage") for p in (REPO / top).rglob("__init__.py")}
    assert found - listed == set(), "add these packages to pyproject.toml [tool.setuptools] packages"


def test_dependencies_are_bounded_agree_and_are_pinned():
    deps = [Requirement(d) for d in PYPROJECT["project"]["dependencies"]]
    extras = [Requirement(d) for group in PYPROJECT["project"]["optional-dependencies"].values() for d in group]
    for req in deps + extras:
        assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), f"{req} has no upper bound"
    assert {str(r) for r in _requirements(REPO / "requirements.txt")} == {str(r) for r in deps}
    dev = {str(r) for r in _requirements(REPO / "requirements-dev.txt")}
    assert dev == {str(Requirement(d)) for d in PYPROJECT["project"]["optional-dependencies"]["dev"]}
    pins = _pins()
    for req in deps + extras:
        name = req.name.lower().replace("_", "-")
        if name in pins:
            assert req.specifier.contains(pins[name], prereleases=True), f"constraints.txt pins {name} {pins[name]}, outside {req}"
    assert {"torch", "gradio", "transformers"} <= set(pins)
    makefile = (REPO / "Makefile").read_text()
    assert "-c constraints.txt torch" in makefile and "-c constraints.txt -r requirements.txt" in makefile


def _tracked_copy(dest: Path) -> Path:
    """The files a clone has (git's list when there is one), so no local build output leaks in."""
    try:
        names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                               text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        names = [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file() and ".venv" not in p.parts]
    for name in names:
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


@pytest.mark.timeout(600)
def test_pip_install_gives_working_commands_outside_the_checkout(tmp_path):
    src = _tracked_copy(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    bin_dir = venv / "bin"
    vpy = bin_dir / "python"
    site = Path(subprocess.run([vpy, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # The dependencies (torch is 800 MB) come from this interpreter's site-packages, behind the venv's own.
    (site / "_deps_from_test_runner.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(vpy), "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, str(src)], check=True, cwd=tmp_path, timeout=300)
    shutil.rmtree(src)  # nothing may still point into the source tree

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SPOT_"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"

    def run(*cmd: str, timeout: float = 300) -> str:
        out = subprocess.run(cmd, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=timeout)
        assert out.returncode == 0, f"{cmd}: {out.stderr[-2000:]}"
        return out.stdout

    where = run(str(vpy), "-c", "import explain, storage, demo.service as s; from explain.model import TOY_MODEL_DIR; "
                "from importlib.metadata import requires; print(explain.__file__); print(TOY_MODEL_DIR); "
                "print((s.ASSETS_DIR / 'style.css').is_file()); print(requires('spot-the-fake'))")
    explain_file, toy_dir, css, requires = where.splitlines()
    assert explain_file.startswith(str(site)) and toy_dir.startswith(str(site)), where
    assert Path(toy_dir, "model.safetensors").is_file() and css == "True"
    assert "torch<2.14,>=2.4" in requires.replace(" ", "") and "extra == \"postgres\"" in requires

    assert "Spot the Fake" in run("spot-the-fake", "--help")
    assert "usage:" in run("spot-explain", "--help")
    db = elsewhere / "d" / "spot.sqlite3"
    run(str(vpy), "-c", f"from storage import Store; Store.open('sqlite:///{db}', '{db.parent}', secret=b'x' * 16).close()")
    assert '"predictions": 0' in run("spot-storage", "stats", "--json", "--data-dir", str(db.parent))
    example = Path(toy_dir).parent / "examples" / "toy-real-wide.png"
    answer = run("spot-explain", str(example), "--model", "toy", "--device", "cpu", "--max-new-tokens", "24")
    assert "real" in answer.lower() or "fake" in answer.lower()
