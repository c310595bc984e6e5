"""The package's shape: imports run one way, modules and functions stay small, one word each.

Read from the source files (``ast``), not from the modules' behaviour.
"""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pil_parallel_blur"

#: Each module (or sub-package) and its layer: a module imports only from lower
#: layers, and inside a sub-package only without a cycle.
LAYERS = {
    "validators": 0,
    "about": 3,
    "testimage": 0,
    "engine": 1,
    "kernel_terms": 1,
    "kernels": 2,
    "parallel": 2,
    "pillow_adapter": 2,
    "blur": 3,
    "pillow_arrays": 4,
    "filter_base": 4,
    "filters": 5,
    "kernel_filter": 5,
    "pillow": 5,
    "named": 6,
    "testing": 6,
    "cli": 7,
    "__main__": 8,
    "__init__": 8,
}

#: Functions allowed past 60 lines: argument parsers.
PARSERS = {"build_parser"}
#: Names of our pieces of work before they were all called tiles or stripes.
OLD_NAMES = re.compile(r"\b(BAND_POOL|BANDS_PER_WORKER|BandFilter|_BandPool|bands? of rows)\b")
#: "band" is Pillow's word for a channel; ours are tiles and stripes.
BAND = re.compile(r"\bbands?\b", re.IGNORECASE)
PILLOW_BANDS = re.compile(r"getbands|MultibandFilter")


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _name(path):
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def _imports(path):
    """Our modules ``path`` imports, as dotted names inside the package."""
    tree = ast.parse(path.read_text())
    here = _name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    package = [p for p in package if p != "__init__"]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = [*base, *(node.module.split(".") if node.module else [])]
            if node.module is None or not target:
                found.update(".".join([*base, a.name]) for a in node.names)
            else:
                found.add(".".join(target))
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("pil_parallel_blur.")
                for a in node.names
                if a.name.startswith("pil_parallel_blur.")
            )
    return {f for f in found if f}


def _top(name):
    return name.split(".")[0]


def test_every_module_has_a_layer():
    missing = {_top(_name(p)) for p in _modules()} - set(LAYERS)
    assert not missing


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_imports_run_down_only(path):
    mine = _top(_name(path))
    for target in _imports(path):
        top = _top(target)
        if top == mine or top.startswith("_native"):
            continue
        assert LAYERS[top] < LAYERS[mine], f"{_name(path)} imports {target}, a higher module"


@pytest.mark.parametrize("package", ["engine", "parallel", "cli"])
def test_no_cycle_inside_a_package(package):
    names = {_name(p): _imports(p) for p in _modules() if _name(p).startswith(package + ".")}
    edges = {
        n: {t for t in ts if t in names and not t.endswith("__init__")} for n, ts in names.items()
    }
    seen, stack = set(), set()

    def visit(n):
        assert n not in stack, f"import cycle through {n}"
        if n in seen:
            return
        stack.add(n)
        for t in edges[n]:
            visit(t)
        stack.discard(n)
        seen.add(n)

    for n in edges:
        visit(n)


def test_the_engine_imports_only_itself_numpy_and_the_compiled_modules():
    for path in (PACKAGE / "engine").glob("*.py"):
        for target in _imports(path):
            assert target.startswith(("engine", "_native")), (path.name, target)
        tree = ast.parse(path.read_text())
        outside = {
            a.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for a in node.names
        } | {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and not node.level and node.module
        }
        assert outside <= {
            "numpy",
            "__future__",
            "importlib",
            "os",
            "warnings",
            "math",
            "dataclasses",
            "typing",
            "types",
            "threading",
            "functools",
            "collections",
            "itertools",
        }, (path.name, outside)


def test_adapters_and_filters_keep_to_their_job():
    assert not any(_top(t) == "parallel" for t in _imports(PACKAGE / "pillow_adapter.py"))
    for name in ("filters.py", "kernel_filter.py", "pillow.py", "filter_base.py"):
        assert not any(_top(t) == "engine" for t in _imports(PACKAGE / name)), name


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_modules_and_functions_stay_small(path):
    text = path.read_text()
    assert text.count("\n") <= 350, f"{_name(path)} has {text.count(chr(10))} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name not in PARSERS:
            length = node.end_lineno - node.lineno + 1
            assert length <= 60, f"{_name(path)}.{node.name} has {length} lines"


def test_band_means_a_channel_only():
    sources = [*PACKAGE.rglob("*.py"), *PACKAGE.glob("*.c"), *PACKAGE.glob("*.h")]
    for path in sources:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not OLD_NAMES.search(line), f"{path.name}:{number}: {line.strip()}"
            if BAND.search(line):
                assert PILLOW_BANDS.search(line), f"{path.name}:{number}: {line.strip()}"


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_every_module_says_what_it_offers(path):
    """``__all__`` names what other modules may use; the rest is private."""
    if path.name == "__main__.py":
        return
    tree = ast.parse(path.read_text())
    assert any(
        isinstance(node, ast.Assign)
        and any(getattr(t, "id", "") == "__all__" for t in node.targets)
        for node in tree.body
    ), _name(path)


def test_the_walk_of_sigma_stays_short():
    """``benchmarks/trace_sigma.py``: at most 10 moves between modules, direct and by the FFT."""
    import subprocess
    import sys

    script = PACKAGE.parent / "benchmarks" / "trace_sigma.py"
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    counts = [int(n) for n in re.findall(r"(\d+) moves between modules", done.stdout)]
    assert len(counts) == 2 and max(counts) <= 10, done.stdout
    import pil_parallel_blur

    if pil_parallel_blur.info()["engine"] == "native":  # the walk ends in the C call
        assert "_native.correlate" in done.stdout and "_native.spectral_columns" in done.stdout
