"""The layers import downwards only (docs/architecture.md#layers): a module imports from its own
layer and the layers below it, never from one above. A lower layer that imported a higher one
would drag the CLI, the registry client, Flask or the benchmarks into every use of the search
core. Every module of indexer/, webapp/ and benchmarks/ belongs to exactly one layer, so a new
package has to be given its place here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("indexer", "webapp", "benchmarks")
# Lowest first. An entry names a module or a package with every module inside it, except
# `indexer`, which names the package's public API alone (indexer/__init__.py): each of its
# subpackages has a place of its own.
LAYERS: list[tuple[str, ...]] = [
    ("indexer.errors",),
    # A Dask cluster as an executor: what a build (index/bulk.py) and a vector fill hand out.
    ("indexer.cluster",),
    ("indexer.model",),
    ("indexer.eligibility",),  # a study's criteria text as inclusion and exclusion lists
    ("indexer.places",),
    ("indexer.place_names",),  # places typed by name
    ("indexer.gazetteer",),  # sites placed by their city's name
    # The catalog: fields, facets and the registry's values, below everything that reads,
    # indexes, searches or shows them (a field's value comes from a Study; places fold names).
    ("indexer.catalog",),
    ("indexer.readers",),
    ("indexer.whoosh",),  # the one boundary with Whoosh's internals (WHOOSH_INTERNALS)
    ("indexer.index", "indexer.analysis"),  # analysis.py: the analyzers' name in older indexes
    ("indexer.semantic",),
    ("indexer.search",),
    ("indexer.registry", "indexer.evaluation"),
    ("indexer",),
    ("webapp",),
    ("indexer.cli",),  # `serve` starts the web app; the web app never imports the CLI
    ("benchmarks",),
]
LAYER = {entry: number for number, layer in enumerate(LAYERS) for entry in layer}
# Packages of one layer that must not import each other.
APART = {frozenset({"indexer.registry", "indexer.evaluation"})}
# Imports the layer order allows and a contract forbids: the search side reads vectors
# (indexer.semantic.contract, .store); it never imports the job that computes them.
NEVER = {"indexer.search": ["indexer.semantic.fill"]}
# Whoosh below its public API (its codec, storage, matchers, table of contents and the opening
# of an index folder): only the boundary package, indexer.whoosh, imports these.
WHOOSH_INTERNALS = ["whoosh.index", "whoosh.codec", "whoosh.filedb", "whoosh.matching",
                    "whoosh.reading", "whoosh.system", "whoosh.writing",
                    "whoosh.columns.TranslatingColumnReader"]


def module_name(path: Path) -> str:
    """The dotted name of the module at `path` (a package's `__init__.py` is the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved (`from . import x` names x)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> set[str]:
    """Every module `source`, a module of `package`, imports (see `imported_modules`)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def sources() -> list[Path]:
    """Every module of PACKAGES (not benchmarks/.cache's)."""
    return sorted(path for folder in PACKAGES for path in (ROOT / folder).rglob("*.py")
                  if not any(part.startswith(".") for part in path.relative_to(ROOT).parts))


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def holders(module: str) -> list[str]:
    """The LAYERS entries that name `module`."""
    return [entry for entry in LAYER if module == entry or (entry != "indexer" and _within(module, entry))]


def entry_of(name: str) -> str | None:
    """The LAYERS entry an imported name falls under: its own, or its nearest enclosing
    module's (`indexer.build_index` is the public API's)."""
    while name:
        found = holders(name)
        if found:
            return found[0]
        name = name.rpartition(".")[0]
    return None


def violations(module: str, imported: set[str]) -> list[str]:
    """The names `module` imports from a layer above its own, from a package it is kept apart
    from, that NEVER forbids it, or from Whoosh's internals (outside indexer.whoosh)."""
    own = entry_of(module)
    banned = [name for owner, names in NEVER.items() if _within(module, owner) for name in names]
    if not _within(module, "indexer.whoosh"):
        banned += WHOOSH_INTERNALS
    wrong = [name for name in imported if any(_within(name, prefix) for prefix in banned)]
    for name in imported:
        other = entry_of(name) if name.split(".")[0] in PACKAGES else None
        if other is not None and (LAYER[other] > LAYER[own] or frozenset({own, other}) in APART):
            wrong.append(name)
    return sorted(set(wrong))


def test_every_module_belongs_to_exactly_one_layer():
    assert len(LAYER) == sum(len(layer) for layer in LAYERS), "an entry is listed twice"
    placed = {module_name(path): holders(module_name(path)) for path in sources()}
    strays = {module: entries for module, entries in placed.items() if len(entries) != 1}
    assert not strays, f"give each a layer (exactly one) in LAYERS, {Path(__file__).name}: {strays}"


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_layer_above_its_own(path):
    module = module_name(path)
    wrong = violations(module, imported_modules(path))
    assert not wrong, f"{module} imports {wrong}: see LAYERS, NEVER and WHOOSH_INTERNALS in {Path(__file__).name}"


def test_the_check_sees_relative_and_absolute_imports():
    # The walker must resolve `from ..cli import x` as well as `import webapp`; otherwise the
    # test above would pass on anything.
    search = ROOT / "indexer" / "search" / "live.py"
    found = imported_modules(search)
    assert "indexer.search.snapshot" in found and "indexer.index.layout" in found
    assert "whoosh.index" in imported_modules(ROOT / "indexer" / "whoosh" / "generation.py")
    assert any(_within(name, "indexer.cli") for name in imported_modules(ROOT / "indexer" / "cli" / "serve.py"))
    assert any(_within(name, "webapp") for name in imported_modules(ROOT / "indexer" / "cli" / "serve.py"))


def test_an_upward_or_sibling_import_is_caught():
    # An index module reaching up to the search core (relatively), the web app and the public
    # API; the registry reaching across to evaluation, its sibling; and what stays allowed.
    source = "from ..search import live\nimport webapp\nfrom indexer import open_index\nfrom . import layout\n"
    found = imports_in(source, "indexer.index")
    assert violations("indexer.index.fake", found) == [
        "indexer", "indexer.open_index", "indexer.search", "indexer.search.live", "webapp"]
    assert violations("indexer.registry.sync", {"indexer.evaluation.fts5"}) == ["indexer.evaluation.fts5"]
    assert violations("benchmarks.semantic.run", {"indexer.cli", "webapp", "indexer.evaluation.fts5"}) == []
    assert violations("indexer.search.live", {"indexer.index.analysis", "indexer.semantic", "numpy"}) == []
    # The search side and the filling job; Whoosh's internals, which only indexer.whoosh reads.
    assert violations("indexer.search.meaning", {"indexer.semantic.fill", "indexer.semantic.contract"}) == [
        "indexer.semantic.fill"]
    assert violations("indexer.index.store", {"whoosh.index", "whoosh.fields", "indexer.whoosh.generation"}) == [
        "whoosh.index"]
    assert violations("indexer.whoosh.generation", {"whoosh.index", "indexer.model"}) == []
