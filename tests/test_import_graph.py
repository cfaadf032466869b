"""No import circles: inside ``organizer/sms/``, and among the services of sms, actions, people
and relational.

The graph is read from the source (``ast``), not from ``sys.modules``: an import inside a
function is an edge too, since a circle hidden in a function body is still a circle to the
reader (and fails at call time instead of import time). Imports under ``if TYPE_CHECKING:``
are left out: they never run, they only name types for the checker.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "organizer"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(tree: ast.AST, this: str, modules: dict[str, Path]) -> set[str]:
    """The modules of ``organizer`` that ``tree`` imports anywhere (functions included)."""

    def resolve(name: str) -> str | None:
        # The longest known prefix: ``organizer.sms.services.X`` is the module services.
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    found: set[str] = set()
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package of ``this``
                package = this.split(".")
                if not modules[this].name == "__init__.py":
                    package.pop()
                package = package[:len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            # ``from organizer.sms import services`` imports the module services.
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            targets = [t for t in targets if t == base or t in modules] or [base]
            if len(targets) > 1:
                targets.remove(base)
        else:
            continue
        for target in targets:
            if target.startswith("organizer"):
                module = resolve(target)
                if module and module != this:
                    found.add(module)
    return found


@functools.cache
def import_graph() -> dict[str, frozenset[str]]:
    """Every module of ``organizer`` and the modules of ``organizer`` it imports."""
    modules = _modules()
    return {name: frozenset(_imported(ast.parse(path.read_text(encoding="utf-8")), name, modules))
            for name, path in modules.items()}


def cycles(graph: dict[str, frozenset[str]], among: set[str]) -> list[list[str]]:
    """The strongly connected components of ``graph`` restricted to ``among`` that hold
    more than one module (each is at least one import circle), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, set()) & among):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(among):
        if node not in index:
            visit(node)
    return sorted(found)


SERVICE_AREAS = ("organizer.actions.services", "organizer.people.services", "organizer.relational.services")


def test_the_graph_sees_imports_inside_functions_and_skips_type_checking_ones():
    graph = import_graph()
    assert "organizer.sms.reminders" in graph["organizer.sms.tasks"]  # inside the periodic task
    assert "organizer.sms.views" in graph["organizer"]  # inside create_app
    assert "organizer.auth.models" not in graph["organizer.sms.local_time"]  # under TYPE_CHECKING only


def test_no_import_circle_inside_the_sms_package():
    graph = import_graph()
    sms = {m for m in graph if m == "organizer.sms" or m.startswith("organizer.sms.")}
    found = cycles(graph, sms)
    assert found == [], "import circles: " + "; ".join(", ".join(c) for c in found)


def test_no_import_circle_between_sms_actions_people_and_relational_services():
    """Through any module of the app: a circle that passes through, say, campaigns still
    ties these services together.

    Except through the app factory (``organizer/__init__.py``): ``create_app`` is where the
    areas are put together (every blueprint, every hook), and the modules that call it (the
    worker building its app, the dev server) only run it; they do not build on what it imports.
    """
    graph = {module: imported - {"organizer"} for module, imported in import_graph().items()}
    components = cycles(graph, set(graph))
    services = {m for m in graph if m.startswith("organizer.sms.") and m != "organizer.sms.views"} | set(
        SERVICE_AREAS)
    tangled = [sorted(set(c) & services) for c in components if len(set(c) & services) > 1]
    assert tangled == [], "services in one import circle: " + "; ".join(", ".join(c) for c in tangled)
