"""The package's shape, checked over the source (no imports run): layers, cycles, folder sizes, signatures."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Low to high; an import may go down or sideways, never up. The leaves (errors, entry, ...) sit below everything.
RANK = {
    "recipes": 1, "layers": 1, "weights": 1, "data": 1, "hardware": 1,
    "loading": 2, "training": 3, "results": 3, "kaggle": 4, "bench": 4, "cli": 5,
}
LEAVES = {"version": 0, "errors": 0, "entry": 0, "catalogue": 0.5, "__main__": 10}
# The one allowed upward call: ZooModel.finetune / lr_find delegate to zoo.training.
DELEGATES = {("zoo.loading.model", "zoo.training.run"), ("zoo.loading.model", "zoo.training.lr_find")}
# Public entry points whose keywords are the user's options; recipe builders (build_*) take hyper-parameters.
PUBLIC = {"finetune", "lr_find", "load", "load_data", "diagnose", "train", "predict", "bundle", "make_plan"}
MAX_PARAMETERS = 6
MAX_MODULES = 14


def package_modules() -> dict[str, Path]:
    """Every module of zoo and of the top-level recipes/ (imported as zoo.recipes), by dotted name."""
    found = {}
    for path in (ROOT / "zoo").rglob("*.py"):
        found[".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")] = path
    for path in (ROOT / "recipes").rglob("*.py"):
        found[".".join(("zoo", *path.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")] = path
    return found


def imported(module: str, node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = module.split(".")
        if node.level:
            package_init = modules[module].name == "__init__.py"
            base = base[: len(base) - node.level + (1 if package_init else 0)]
        else:
            base = []
        target = ".".join(base + ([node.module] if node.module else []))
        names = [target] + [f"{target}.{alias.name}" for alias in node.names]
    return [name for name in names if name.split(".")[0] == "zoo"]


def import_graph() -> dict[str, set[str]]:
    """module -> the zoo modules it imports anywhere (inside functions and TYPE_CHECKING blocks too)."""
    modules = package_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in imported(name, node, modules):
                    while target and target not in modules:
                        target = target.rpartition(".")[0]
                    if target and target != name:
                        graph[name].add(target)
    return graph


def rank(module: str) -> float:
    parts = module.split(".")
    if len(parts) == 1:
        return 99  # the package root
    return LEAVES.get(parts[1], RANK.get(parts[1], -1)) if len(parts) == 2 else RANK.get(parts[1], -1)


def test_every_folder_has_a_rank():
    inits = [path.relative_to(ROOT / "zoo") for path in (ROOT / "zoo").rglob("__init__.py")]
    folders = {path.parts[0] for path in inits if len(path.parts) > 1}
    assert folders <= set(RANK), f"new folders need a place in the layers: {sorted(folders - set(RANK))}"


def test_no_upward_imports_and_no_imports_of_the_package_root():
    graph = import_graph()
    upward = sorted(f"{src} -> {dst}" for src, dsts in graph.items() for dst in dsts if is_upward(src, dst))
    assert upward == []


def is_upward(src: str, dst: str) -> bool:
    """An import of a higher layer; benchmarks may use the public face (`import zoo`) like any user."""
    if (src, dst) in DELEGATES or (src.startswith("zoo.bench") and dst == "zoo"):
        return False
    return rank(src) < rank(dst)


def test_no_import_cycles():
    graph = {src: {dst for dst in dsts if (src, dst) not in DELEGATES} for src, dsts in import_graph().items()}
    cycles = [component for component in strongly_connected(graph) if len(component) > 1]
    assert cycles == []


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively (the graph has ~120 nodes)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(sorted(component))
    return found


def test_the_checker_finds_a_cycle():
    assert sorted(strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})) == [["a", "b", "c"], ["d"]]


@pytest.mark.parametrize("folder", sorted(p.parent for p in (ROOT / "zoo").rglob("__init__.py")), ids=str)
def test_folders_are_small_and_say_what_they_hold(folder: Path):
    modules = [path for path in folder.glob("*.py") if path.name != "__init__.py"]
    assert len(modules) <= MAX_MODULES, f"{folder.relative_to(ROOT)} holds {len(modules)} modules: split it by concern"
    assert not any(path.stem in {"utils", "helpers", "misc", "common"} for path in modules)
    docstring = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
    assert docstring and len(docstring) > 40, f"{folder.relative_to(ROOT)}/__init__.py: say what lives there"


def python_sources() -> list[Path]:
    return sorted([*(ROOT / "zoo").rglob("*.py"), *(ROOT / "recipes").rglob("*.py"), *(ROOT / "tests").rglob("*.py")])


def test_no_format_skips():
    marker = "# fmt" + ": skip"  # spelled apart so this file does not match itself
    offenders = []
    for path in python_sources():
        lines = path.read_text(encoding="utf-8").splitlines()
        offenders += [f"{path.relative_to(ROOT)}:{number}" for number, line in enumerate(lines, 1) if marker in line]
    assert offenders == []


def test_short_signatures_outside_the_public_api():
    long = []
    for path in [*(ROOT / "zoo").rglob("*.py"), *(ROOT / "recipes").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if node.name not in PUBLIC and not node.name.startswith("build_"):
                arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                count = len([a for a in arguments if a.arg not in ("self", "cls")])
                if count > MAX_PARAMETERS:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({count})")
    assert long == []


def test_the_checker_sees_an_upward_import():
    assert is_upward("zoo.data.sources", "zoo.training.run") and not is_upward("zoo.cli.main", "zoo.training.run")
    assert not is_upward("zoo.loading.model", "zoo.training.run")  # the ZooModel.finetune delegate
