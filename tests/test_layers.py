"""The layers import downwards only (docs/architecture.md): a lower layer that imported a
higher one would drag the CLI, the registry client or Flask into every use of the search core.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# package prefix -> prefixes it must never import
FORBIDDEN = {
    "indexer.model": ["indexer.whoosh", "indexer.index", "indexer.search", "indexer.registry",
                      "indexer.evaluation", "indexer.cli", "webapp"],
    "indexer.errors": ["indexer.whoosh", "indexer.index", "indexer.search", "indexer.cli", "webapp"],
    "indexer.enums": ["indexer.whoosh", "indexer.index", "indexer.search", "indexer.cli", "webapp"],
    "indexer.places": ["indexer.readers", "indexer.whoosh", "indexer.index", "indexer.search",
                       "indexer.registry", "indexer.evaluation", "indexer.cli", "webapp"],
    "indexer.readers": ["indexer.whoosh", "indexer.index", "indexer.search", "indexer.registry",
                        "indexer.evaluation", "indexer.cli", "webapp"],
    # The one boundary with Whoosh's internals, between the model and the index and search.
    "indexer.whoosh": ["indexer.readers", "indexer.index", "indexer.search", "indexer.semantic",
                       "indexer.registry", "indexer.evaluation", "indexer.cli", "webapp"],
    "indexer.index": ["indexer.search", "indexer.semantic", "indexer.registry",
                      "indexer.evaluation", "indexer.cli", "webapp"],
    "indexer.semantic": ["indexer.search", "indexer.registry", "indexer.evaluation", "indexer.cli",
                         "webapp"],
    # The search side reads vectors (indexer.semantic.contract, .store); it never imports the
    # job that computes them.
    "indexer.search": ["indexer.semantic.fill", "indexer.registry", "indexer.evaluation",
                       "indexer.cli", "webapp"],
    "indexer.registry": ["indexer.evaluation", "indexer.cli", "webapp"],
    "indexer.evaluation": ["indexer.registry", "indexer.cli", "webapp"],
    "webapp": ["indexer.cli"],
}
# Whoosh below its public API (its codec, storage, matchers, table of contents and the opening
# of an index folder): only the boundary package, indexer.whoosh, imports these.
WHOOSH_INTERNALS = ["whoosh.index", "whoosh.codec", "whoosh.filedb", "whoosh.matching",
                    "whoosh.reading", "whoosh.system", "whoosh.writing",
                    "whoosh.columns.TranslatingColumnReader"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved (`from . import x` names x)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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
    return sorted(p for folder in ("indexer", "webapp") for p in (ROOT / folder).rglob("*.py"))


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_layer_above_its_own(path):
    module = module_name(path)
    rules = [banned for layer, banned in FORBIDDEN.items() if _within(module, layer)]
    if not _within(module, "indexer.whoosh"):
        rules.append(WHOOSH_INTERNALS)
    wrong = sorted(name for name in imported_modules(path) for banned in rules for prefix in banned
                   if _within(name, prefix))
    assert not wrong, f"{module} imports {wrong}: see FORBIDDEN and WHOOSH_INTERNALS in {Path(__file__).name}"


def test_the_check_sees_relative_and_absolute_imports():
    # The walker must resolve `from ..cli import x` as well as `import webapp`; otherwise the
    # test above would pass on anything.
    search = ROOT / "indexer" / "search" / "live.py"
    found = imported_modules(search)
    assert "indexer.search.snapshot" in found and "indexer.index.layout" in found
    assert "whoosh.index" in imported_modules(ROOT / "indexer" / "whoosh" / "generation.py")
    assert any(_within(name, "indexer.cli") for name in imported_modules(ROOT / "indexer" / "cli" / "serve.py"))
    assert any(_within(name, "webapp") for name in imported_modules(ROOT / "indexer" / "cli" / "serve.py"))
