"""The Whoosh boundary's canary: every Whoosh name `indexer/whoosh/` relies on, checked against
the installed Whoosh. Each must still exist; where the package calls it, Whoosh must take the
arguments the package gives; where the package's classes override Whoosh's methods, Whoosh
must still have them, with as many parameters. A Whoosh release that renames, drops or
reshapes one fails here, naming it and the module that uses it, before a build or search
goes wrong (what the reads return is checked by test_storage.py and test_codec.py).

The names come from the package's code (an `ast` walk: its imports from Whoosh, the calls of
them, what its subclasses of Whoosh's classes read and override, and every `x._private` read),
so the list cannot drift from the code. Only what the code cannot tell is declared here: the
Whoosh class each private read on another object belongs to (`READ_ON`), the private
attributes a subclass both assigns and shares with Whoosh's class (`SHARED`), and the methods
a subclass adds (`ADDED`); each declaration is checked against the code both ways.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "indexer" / "whoosh"

# The Whoosh class (or classes) of the objects each private read on something other than
# `self` finds its name on ("module:qualified name").
READ_ON = {
    "_terms": ["whoosh.reading:SegmentReader"],  # a segment's term table
    "_codec": ["whoosh.reading:SegmentReader"],
    "_perdoc": ["whoosh.reading:SegmentReader"],  # its per-document files
    "_storage": ["whoosh.reading:SegmentReader"],  # where its files are (its tables beside them)
    "_cached_reader": ["whoosh.codec.whoosh3:W3PerDocReader"],  # the field lengths column
    "_postfile": ["whoosh.codec.whoosh3:W3TermsReader"],  # the postings file of a term table
    "_maxid": ["whoosh.codec.whoosh3:W3LeafMatcher"],  # a block header's last document
    "_next_block": ["whoosh.codec.whoosh3:W3LeafMatcher"],
    "_read_data": ["whoosh.codec.whoosh3:W3LeafMatcher"],
    "_data": ["whoosh.codec.whoosh3:W3LeafMatcher"],
    "_read_weights": ["whoosh.codec.whoosh3:W3LeafMatcher"],
    "_weights": ["whoosh.codec.whoosh3:W3LeafMatcher"],
    "_read_values": ["whoosh.codec.whoosh3:W3LeafMatcher"],
    "_values": ["whoosh.codec.whoosh3:W3LeafMatcher"],
    "_dbfile": ["whoosh.columns:FixedBytesColumn.Reader", "whoosh.columns:VarBytesColumn.Reader"],
    "_basepos": ["whoosh.columns:FixedBytesColumn.Reader", "whoosh.columns:VarBytesColumn.Reader"],
    "_count": ["whoosh.columns:FixedBytesColumn.Reader"],  # lengths and float columns
    "_default": ["whoosh.columns:FixedBytesColumn.Reader"],
    "_lengths": ["whoosh.columns:VarBytesColumn.Reader"],  # the sites column
    "_field_B": ["whoosh.scoring:BM25F"],  # per-field B
    "_btexts": ["whoosh.query.terms:MultiTerm"],  # a multi-term query's expansion
}
# Private names a subclass sets or defines that are the Whoosh class's own: the matcher's
# position it moves, the corrector's hook for candidates it implements.
SHARED = {"ArrayMatcher": {"_i"}, "Corrector": {"_suggestions"}}
# Public methods a subclass adds: Whoosh's class must not have them (the subclass would
# override them unawares).
ADDED = {"ArrayMatcher": {"value_at"}, "ArrayTermsReader": {"field_postings", "lexicon"},
         "ArrayFieldWriter": {"write_field"}, "Corrector": {"candidates"}}


@dataclass
class Call:
    """How a call site passes arguments: positional count and keyword names (None: it
    unpacks *args or **kwargs, so its shape cannot be checked)."""

    where: str
    positional: int | None
    keywords: tuple[str, ...] = ()


@dataclass
class Subclass:
    """One of the package's classes extending a Whoosh class, and what it takes from it."""

    name: str
    base: str  # "module:qualified name"
    module: str  # "indexer.whoosh.codec"
    where: str
    inherited: set[str] = field(default_factory=set)  # names used on self, never set here
    assigned: set[str] = field(default_factory=set)  # names it sets or defines
    methods: set[str] = field(default_factory=set)  # methods it defines
    self_calls: dict[str, list[Call]] = field(default_factory=dict)
    super_calls: dict[str, list[Call]] = field(default_factory=dict)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _dunder(name: str) -> bool:
    return name.startswith("__")


def _call(node: ast.Call, where: str) -> Call:
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        return Call(where, None)
    return Call(where, len(node.args), tuple(k.arg for k in node.keywords))


@functools.cache
def derived() -> dict:
    """What the package's code uses of Whoosh: imports {(module, name): [files]}, the imported
    names and their attributes it uses {"module:qualified name": [each Call of it]},
    subclasses of Whoosh's classes {name: Subclass}, private reads on other objects
    {name: [(where, its Call or None)]}."""
    imports: dict[tuple[str, str | None], list[str]] = {}
    uses: dict[str, list[Call]] = {}
    subclasses: dict[str, Subclass] = {}
    reads: dict[str, list[tuple[str, Call | None]]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        local: dict[str, tuple[str, str | None]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "whoosh":
                for alias in node.names:
                    local[alias.asname or alias.name] = (node.module, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "whoosh":
                        local[alias.asname or alias.name] = (alias.name, None)
        for key in local.values():
            imports.setdefault(key, []).append(path.name)

        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [b for b in (_whoosh_name(base, local) for base in node.bases) if b]
                if bases:
                    subclasses[node.name] = _subclass(node, bases[0], path)
        called = {id(node.func): node for node in ast.walk(tree) if isinstance(node, ast.Call)}
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Attribute) and _whoosh_name(node, local):
                uses.setdefault(_whoosh_name(node, local), [])
            if isinstance(node, ast.Call) and _whoosh_name(node.func, local):
                uses.setdefault(_whoosh_name(node.func, local), []).append(_call(node, where))
            if isinstance(node, ast.Attribute) and _private(node.attr) \
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                call = called.get(id(node))
                reads.setdefault(node.attr, []).append((where, call and _call(call, where)))
    return {"imports": imports, "uses": uses, "subclasses": subclasses, "reads": reads}


def _whoosh_name(expr: ast.expr, local: dict[str, tuple[str, str | None]]) -> str | None:
    """The "module:qualified name" of an expression naming something imported from Whoosh
    (`local`: the module's imports from Whoosh by local name), or None."""
    if isinstance(expr, ast.Name) and expr.id in local:
        module, attr = local[expr.id]
        return f"{module}:{attr or ''}"
    if isinstance(expr, ast.Attribute):
        owner = _whoosh_name(expr.value, local)
        if owner:
            return owner + ("" if owner.endswith(":") else ".") + expr.attr
    return None


def _subclass(node: ast.ClassDef, base: str, path: Path) -> Subclass:
    found = Subclass(node.name, base, f"indexer.whoosh.{path.stem}", f"{path.name}:{node.lineno}")
    read, deleted = set(), set()
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and not _dunder(item.name):
            found.assigned.add(item.name)
            found.methods.add(item.name)
        elif isinstance(item, (ast.Assign, ast.AnnAssign)):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            found.assigned.update(t.id for t in targets if isinstance(t, ast.Name))
    for sub in ast.walk(node):
        where = f"{path.name}:{getattr(sub, 'lineno', 0)}"
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) \
                and sub.value.id in ("self", "cls") and not _dunder(sub.attr):
            if isinstance(sub.ctx, ast.Store):
                found.assigned.add(sub.attr)
            elif isinstance(sub.ctx, ast.Del):
                deleted.add(sub.attr)
            else:
                read.add(sub.attr)
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            owner = sub.func.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                found.self_calls.setdefault(sub.func.attr, []).append(_call(sub, where))
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
                found.super_calls.setdefault(sub.func.attr, []).append(_call(sub, where))
    # Read but never set here, or deleted (so set by Whoosh's constructor): Whoosh's.
    found.inherited = (read - found.assigned) | deleted
    return found


def resolve(name: str):
    """The object a "module:qualified name" names (a module for "module:")."""
    module, _, qualified = name.partition(":")
    obj = importlib.import_module(module)
    for part in filter(None, qualified.split(".")):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(f"{obj.__name__}.{part}")  # a submodule
    return obj


@functools.cache
def instance_attributes(cls: type) -> frozenset[str]:
    """The attributes Whoosh's `cls` (or a Whoosh class it extends) assigns on `self`."""
    names = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("whoosh"):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        names.update(n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                     and isinstance(n.ctx, ast.Store) and isinstance(n.value, ast.Name)
                     and n.value.id == "self")
    return frozenset(names)


def has(cls: type, name: str) -> bool:
    """Whether Whoosh's `cls` has `name`, as a class attribute or one its code sets on self."""
    return hasattr(cls, name) or name in instance_attributes(cls)


def assert_takes(func, call: Call, what: str, bound: bool = False) -> None:
    """`func` accepts the arguments of `call` (`bound`: `func` is a method looked up on its
    class, so the call site's object is its first argument)."""
    if call.positional is None:
        return
    try:
        signature = inspect.signature(func)
    except ValueError:  # a builtin without one (an exception class): nothing to compare
        return
    try:
        signature.bind(*[object()] * (call.positional + bound), **dict.fromkeys(call.keywords))
    except TypeError as exc:
        pytest.fail(f"Whoosh's {what} no longer takes what {call.where} passes it ({exc}): "
                    "update indexer/whoosh/")


def _ids(values):
    return [str(v) for v in values]


IMPORTS = sorted(derived()["imports"], key=str)
USES = sorted(derived()["uses"])
SUBCLASS_NAMES = sorted((s.name, n) for s in derived()["subclasses"].values()
                        for n in s.inherited | SHARED.get(s.name, set()))
SUPER_CALLS = sorted((s.name, n) for s in derived()["subclasses"].values() for n in s.super_calls)
# Public methods a subclass defines, and the private ones it shares with Whoosh's class.
OVERRIDES = sorted((s.name, m) for s in derived()["subclasses"].values() for m in s.methods
                   if m not in ADDED.get(s.name, set()) and (not _private(m) or m in SHARED.get(s.name, ())))
READS = sorted(derived()["reads"])


@pytest.mark.parametrize(("module", "name"), IMPORTS, ids=lambda v: str(v))
def test_whoosh_has_what_the_package_imports(module, name):
    where = ", ".join(derived()["imports"][(module, name)])
    try:
        resolve(f"{module}:{name or ''}")
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"Whoosh no longer has {module}.{name} ({exc}), which {where} imports: "
                    "update indexer/whoosh/")


@pytest.mark.parametrize("name", USES)
def test_whoosh_has_and_takes_what_the_package_uses(name):
    try:
        target = resolve(name)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"Whoosh no longer has {name.replace(':', '.')} ({exc}): update indexer/whoosh/")
    for call in derived()["uses"][name]:
        assert_takes(target, call, name.replace(":", "."))


@pytest.mark.parametrize(("subclass", "name"), SUBCLASS_NAMES, ids=_ids)
def test_whoosh_classes_still_have_what_the_subclasses_use(subclass, name):
    found = derived()["subclasses"][subclass]
    base = resolve(found.base)
    assert has(base, name), (f"Whoosh's {base.__qualname__} no longer has {name}, which "
                             f"{subclass} ({found.where}) uses: update indexer/whoosh/")
    if inspect.isfunction(inspect.getattr_static(base, name, None)):
        for call in found.self_calls.get(name, []):
            assert_takes(getattr(base, name), call, f"{base.__qualname__}.{name}", bound=True)


@pytest.mark.parametrize(("subclass", "name"), SUPER_CALLS, ids=_ids)
def test_whoosh_classes_take_what_the_subclasses_pass_up(subclass, name):
    found = derived()["subclasses"][subclass]
    base = resolve(found.base)
    for call in found.super_calls[name]:
        assert_takes(getattr(base, name), call, f"{base.__qualname__}.{name}", bound=True)


@pytest.mark.parametrize(("subclass", "name"), OVERRIDES, ids=_ids)
def test_overridden_methods_are_still_whoosh_s_with_as_many_parameters(subclass, name):
    found = derived()["subclasses"][subclass]
    base = resolve(found.base)
    assert hasattr(base, name), (f"Whoosh's {base.__qualname__} no longer has {name}(), which "
                                 f"{subclass} ({found.where}) overrides: Whoosh would not call it")
    ours = inspect.signature(getattr(resolve(f"{found.module}:{subclass}"), name))
    theirs = inspect.signature(getattr(base, name))
    assert _positional(ours) == _positional(theirs), \
        f"Whoosh's {base.__qualname__}.{name}{theirs} changed; {subclass} overrides it as {ours}"


def _positional(signature: inspect.Signature) -> int:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds for p in signature.parameters.values())


@pytest.mark.parametrize("name", READS)
def test_whoosh_objects_still_have_the_private_names_the_package_reads(name):
    sites = derived()["reads"][name]
    where = ", ".join(site for site, _ in sites)
    assert name in READ_ON, f"{where} reads {name} on another object: add its Whoosh class to READ_ON"
    for owner in map(resolve, READ_ON[name]):
        assert has(owner, name), (f"Whoosh's {owner.__qualname__} no longer has {name}, which "
                                  f"{where} reads: update indexer/whoosh/")
        if inspect.isfunction(inspect.getattr_static(owner, name, None)):
            for _, call in sites:
                if call is not None:
                    assert_takes(getattr(owner, name), call, f"{owner.__qualname__}.{name}", bound=True)


def test_the_declarations_match_the_code():
    subclasses = derived()["subclasses"]
    stale = sorted(set(READ_ON) - set(derived()["reads"]))
    assert not stale, f"indexer/whoosh/ no longer reads {stale}: remove them from READ_ON"
    for name, shared in SHARED.items():
        assert shared <= subclasses[name].assigned, f"{name} no longer assigns {shared}: update SHARED"
    for name, added in ADDED.items():
        base = resolve(subclasses[name].base)
        assert added <= subclasses[name].methods, f"{name} no longer defines {added}: update ADDED"
        clash = sorted(m for m in added if hasattr(base, m))
        assert not clash, f"Whoosh's {base.__qualname__} now has {clash}, which {name} overrides unawares"
    for found in subclasses.values():
        base = resolve(found.base)
        # A private name a subclass sets that Whoosh's class has too is Whoosh's state.
        clash = sorted(n for n in found.assigned - found.inherited - SHARED.get(found.name, set())
                       if _private(n) and has(base, n))
        assert not clash, (f"{found.name} ({found.where}) sets {clash}, which Whoosh's "
                           f"{base.__qualname__} has too: rename ours, or add them to SHARED")


def test_whoosh_reads_the_term_statistics_the_codec_writes():
    # ArrayTermInfo writes Whoosh's statistics in whoosh3's layout (its struct, packed
    # positionally) and its own offsets after them, so Whoosh's reader of the layout must
    # still read the same statistics from them.
    from whoosh.codec.whoosh3 import W3TermInfo

    from indexer.whoosh.codec import ArrayTermInfo

    info = ArrayTermInfo(2.0, 3, 1, 9, 1.5, 4, 7)
    info.posting_start, info.position_start = 11, 13
    statistics = ["weight", "doc_frequency", "min_length", "max_length", "max_weight", "min_id", "max_id"]
    theirs, ours = W3TermInfo.from_bytes(info.to_bytes()), ArrayTermInfo.from_bytes(info.to_bytes())
    assert [getattr(theirs, name)() for name in statistics] == [2.0, 3, 1, 9, 1.5, 4, 7], \
        "Whoosh's term statistics layout changed: update ArrayTermInfo in indexer/whoosh/codec.py"
    assert [getattr(ours, name)() for name in statistics] == [2.0, 3, 1, 9, 1.5, 4, 7]
    assert (ours.posting_start, ours.position_start) == (11, 13)


def test_the_canary_sees_the_package():
    # The walk must find what the package is known to rely on; otherwise every test above
    # would pass on nothing.
    assert ("whoosh.index", "TOC") in IMPORTS and ("whoosh.codec.whoosh3", "_lenfield") in IMPORTS
    assert "whoosh.index:clean_files" in USES and "whoosh.codec.whoosh3:W3Codec.TERMS_EXT" in USES
    assert ("ArrayTermInfo", "_struct") in SUBCLASS_NAMES and ("ArrayMatcher", "_ids") in SUBCLASS_NAMES
    assert ("ArrayTermsReader", "term_info") in OVERRIDES
    assert {"_terms", "_read_data", "_field_B"} <= set(READS)
