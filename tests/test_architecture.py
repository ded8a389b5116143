"""The house rules of docs/ARCHITECTURE.md, checked against the code's own imports.

Read from the source with `ast` (nothing is imported, so a rule broken inside a function is caught
too), plus one run of the application layer in a fresh interpreter to see what it really loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("demo", "explain", "storage")
MAX_LINES = 500  # the hard line; the aim is about 400


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module `name` imports, anywhere in the file, as absolute dotted names."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            mod = ".".join([*base, node.module] if node.module else base)
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)  # `from pkg import module`
    return found


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _uses(name: str, top: str) -> bool:
    return any(m == top or m.startswith(top + ".") for m in IMPORTS[name])


def _internal(name: str) -> set[str]:
    """The project modules `name` imports (a `from pkg import x` counts as pkg.x when x is a module)."""
    return {m for m in IMPORTS[name] if m in MODULES and m != name}


def test_gradio_only_in_the_ui():
    service = [n for n in MODULES if n.startswith(("demo.service", "demo.i18n"))]
    assert service, "the application layer moved: update this test and docs/ARCHITECTURE.md"
    offenders = [n for n in MODULES if _uses(n, "gradio") and (not n.startswith("demo.") or n in service)]
    assert offenders == []


def test_layers_point_one_way():
    wrong = []
    for name in MODULES:
        if name.startswith(("explain", "storage")) and (_uses(name, "demo") or _uses(name, "app")):
            wrong.append(name)  # the model side and the store know nothing of the app
        if name.startswith("explain") and _uses(name, "storage"):
            wrong.append(name)
        if name.startswith("storage") and (_uses(name, "torch") or _uses(name, "explain")):
            wrong.append(name)
        if name.startswith("demo.service") and (_uses(name, "torch") or _uses(name, "gradio")):
            wrong.append(name)
        if name.startswith("demo.service") and any(
                m.startswith("demo.") and not m.startswith(("demo.service", "demo.i18n")) for m in _internal(name)):
            wrong.append(name)  # the application layer never reaches up into the UI
        if _uses(name, "app"):
            wrong.append(name)  # nothing imports the entry point
    assert sorted(set(wrong)) == []


def test_ui_reaches_the_model_and_store_only_through_the_service():
    ui = [n for n in MODULES if n.startswith("demo") and not n.startswith(("demo.service", "demo.i18n"))]
    assert [n for n in ui if _uses(n, "explain") or _uses(n, "storage")] == []


def test_no_import_circles():
    graph = {n: {m for m in _internal(n) if not n.startswith(m + ".")} for n in MODULES}  # a package's own
    # __init__ importing its modules is how a package hands names on, not a circle
    seen: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(n: str) -> None:
        seen[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if seen.get(m) == 1:
                circles.append(stack[stack.index(m):] + [m])
            elif m not in seen:
                visit(m)
        stack.pop()
        seen[n] = 2

    for n in sorted(graph):
        if n not in seen:
            visit(n)
    assert circles == []


def test_no_oversized_module():
    big = {str(p.relative_to(ROOT)): n for p in MODULES.values()
           if "migrations" not in p.parts and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert big == {}


def test_every_module_says_what_it_holds():
    bare = [str(p.relative_to(ROOT)) for p in MODULES.values()
            if p.stat().st_size and ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
            and "migrations" not in p.parts]
    assert bare == []


@pytest.mark.parametrize("module", ["demo.service", "demo.service.classroom"])
def test_the_application_layer_loads_neither_gradio_nor_torch(module):
    code = f"import sys, {module}; print(sorted(m for m in ('gradio', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
