"""The floor plan: imports go one way (FLOORS below; drawn in docs/architecture.md).

Nodes are each package's first-level modules and subpackages (`video_lstm.training`,
`pipelines.sources`, `export.verify`, ...); an edge is an import anywhere in a file,
function-local ones included (as ../shared/tools/import_cycles.py measures it).
"""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("video_lstm", "pipelines", "export")
GROUND = "video_lstm.core"
# The floor plan, written once: (floor, name, nodes), top floor first. A node ending in "." stands for
# every module under it ("export." is all of export/); the others are matched exactly, and the first
# floor that matches wins, so `pipelines.extract_percepts` is an entry point and the rest of
# `pipelines.` is data. docs/architecture.md shows this table as a diagram (`python docs/gen_commands.py`
# draws it; tests/test_docs.py checks that the page is current).
FLOORS = (
    (5, "entry points", ("video_lstm.train", "video_lstm.evaluate", "video_lstm.visualize", "video_lstm.finetune",
                         "video_lstm.probe", "video_lstm.predict", "video_lstm.embed", "pipelines.extract_percepts")),
    (4, "export", ("export.",)),
    (3, "uses of a model", ("video_lstm.training", "video_lstm.analysis", "video_lstm.classify",
                            "video_lstm.embedding", "video_lstm.experiments")),
    (2, "settings, run directory", ("video_lstm.config", "video_lstm.flags", "video_lstm.rundir")),
    (1, "models, data", ("video_lstm.models", "video_lstm.optimizers", "pipelines.")),
    (0, "ground", (GROUND, *PACKAGES)),  # the packages' own __init__ files import nothing
)


def floor(node):
    """The node's floor in FLOORS: 0 ground; 1 models and data; 2 settings and the run directory;
    3 uses of a model; 4 export; 5 entry points."""
    for number, _, nodes in FLOORS:
        if any(node == n or (n.endswith(".") and node.startswith(n)) for n in nodes):
            return number
    raise AssertionError(f"{node} has no floor: add it to FLOORS in tests/test_architecture.py "
                         "and run python docs/gen_commands.py")


def _node(module):
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    node = ".".join(parts[:2])
    path = os.path.join(ROOT, *node.split("."))
    return node if os.path.isdir(path) or os.path.exists(path + ".py") else None


def import_graph():
    """{node: {imported node: [files]}} over the three packages."""
    edges = {}
    for package in PACKAGES:
        for directory, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(directory, name)
                parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                dotted = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                source = _node(dotted) or dotted
                here = ".".join(os.path.relpath(directory, ROOT).split(os.sep))
                for node in ast.walk(ast.parse(open(path).read(), path)):
                    targets = []
                    if isinstance(node, ast.Import):
                        targets = [alias.name for alias in node.names]
                    elif isinstance(node, ast.ImportFrom):
                        base = node.module or ""
                        if node.level:
                            up = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                            base = ".".join(up + ([base] if base else []))
                        targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
                    for target in targets:
                        imported = _node(target)
                        if imported and imported != source:
                            edges.setdefault(source, {}).setdefault(imported, []).append(os.path.relpath(path, ROOT))
    return edges


def _cycles(edges):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_among_package_nodes():
    assert _cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}}) == [["a", "b", "c"]]


def test_the_ground_floor_imports_no_project_module():
    edges = {imported: files for imported, files in import_graph().get(GROUND, {}).items()}
    assert edges == {}, f"video_lstm.core imports {edges}"


def test_every_import_goes_to_the_same_floor_or_below():
    upward = {(source, imported): files for source, targets in import_graph().items()
              for imported, files in targets.items() if floor(imported) > floor(source)}
    assert upward == {}, upward


def test_every_node_has_a_floor():
    nodes = set(import_graph()) | {n for targets in import_graph().values() for n in targets}
    assert {floor(node) for node in nodes} == {0, 1, 2, 3, 4, 5}


def test_models_use_keras_ops_only():
    for source, targets in import_graph().items():
        if source == "video_lstm.models":
            assert set(targets) <= {GROUND}, targets
    for directory, _, files in os.walk(os.path.join(ROOT, "video_lstm", "models")):
        for name in files:
            if name.endswith(".py"):
                text = open(os.path.join(directory, name)).read()
                assert "import tensorflow" not in text and "import jax" not in text, name
