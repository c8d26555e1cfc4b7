"""Mapping nested JSON study records (API v2, classic API) onto Study fields by dotted paths.

A path walks dicts by key and fans out over lists, so `locations.facility` gives every
location's facility. Records from the wild may have any shape: a path that meets the wrong
type simply yields nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..model import Study
from .records import build_study, intervention_label


def collect(node: Any, path: str) -> list[Any]:
    """Every value at dotted `path` under `node` (lists fan out; missing keys give [])."""
    nodes = [node]
    for key in path.split("."):
        step = []
        for item in nodes:
            value = item.get(key) if isinstance(item, dict) else None
            if isinstance(value, list):
                step.extend(v for v in value if v is not None)
            elif value is not None:
                step.append(value)
        nodes = step
    return nodes


def first(node: Any, path: str) -> Any:
    """The first value at dotted `path`, or None."""
    found = collect(node, path)
    return found[0] if found else None


def flatten(node: Any, skip: frozenset[str]) -> Iterator[tuple[str, Any]]:
    """`(dotted path, scalar)` for every leaf under `node` except the paths in `skip` (and
    everything under them). Iterative, so deeply nested input cannot exhaust the stack."""
    stack: list[tuple[str, Any]] = [("", node)]
    while stack:
        path, value = stack.pop()
        if path in skip:
            continue
        if isinstance(value, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((path, v) for v in reversed(value))
        elif path and value is not None:
            yield path, value


@dataclass(frozen=True)
class MeshLayout:
    """Where one JSON dialect's derived section keeps the registry's MeSH terms (paths relative
    to that section): the condition and intervention terms, and the condition browse leaves
    (path to the leaf objects, then their name, as-found and relevance keys).

    The terms are the registry's MeSH list (API v2 `meshes`); its browse leaves of high
    relevance are those same terms plus a few narrower or broader ones the list leaves out
    ("Familial Alzheimer Disease" for "Alzheimer's Disease", "Quality of Life"), and the low
    ones are ancestors and neighbours ("Mitral Valve Insufficiency" beside "Alcohol Use
    Disorder"), so only the list is kept, as legacy XML has it. The leaves give the words each
    condition term was found as; intervention leaves are not read (their as-found words are
    noise: Carboplatin found as "Level")."""

    condition_terms: str
    intervention_terms: str
    condition_leaves: tuple[str, str, str, str]

    def values(self, derived: Any, clean: Callable[[Any], Any] = lambda value: value) -> dict[str, Any]:
        """`condition_mesh`, `intervention_mesh` and `condition_mesh_found` (as-found text,
        term) from a derived section; nothing is found in anything else."""
        conditions = [clean(term) for term in collect(derived, self.condition_terms)]
        terms = {term for term in conditions if isinstance(term, str)}
        leaves_path, name_key, found_key, relevance_key = self.condition_leaves
        found = [
            (clean(leaf.get(found_key)), leaf.get(name_key))
            for leaf in collect(derived, leaves_path)
            if isinstance(leaf, dict) and leaf.get(name_key) in terms
            and str(leaf.get(relevance_key)).lower() == "high"
        ]
        return {"condition_mesh": conditions,
                "intervention_mesh": [clean(term) for term in collect(derived, self.intervention_terms)],
                "condition_mesh_found": found}


@dataclass(frozen=True)
class JsonLayout:
    """Where one JSON dialect keeps each Study field (paths relative to the protocol section).

    `fields` and `lists` map Study field names to paths; `interventions` is (path to the
    intervention objects, type key, name key); `sites` is (path to the location objects,
    Site field name -> dotted key in one); `contacts` is (path to the central contact
    objects, Contact field name -> key in one) and `site_contacts` the same for a location's
    contacts, the path relative to the location. `kept` maps fields whose raw value also
    stays in `Study.extra` (where the model normalizes it and would otherwise lose detail,
    like a lead sponsor class). Every leaf not mapped goes to `Study.extra` under its path.
    """

    fields: dict[str, str]
    lists: dict[str, str]
    interventions: tuple[str, str, str]
    sites: tuple[str, dict[str, str]]
    contacts: tuple[str, dict[str, str]]
    site_contacts: tuple[str, dict[str, str]]
    kept: dict[str, str] = field(default_factory=dict)
    mapped: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        items_path, type_key, name_key = self.interventions
        places_path, place_keys = self.sites
        contacts_path, contact_keys = self.contacts
        site_contacts_path, site_contact_keys = self.site_contacts
        mapped = {*self.fields.values(), *self.lists.values(),
                  f"{items_path}.{type_key}", f"{items_path}.{name_key}",
                  *(f"{places_path}.{key}" for key in place_keys.values()),
                  *(f"{contacts_path}.{key}" for key in contact_keys.values()),
                  *(f"{places_path}.{site_contacts_path}.{key}" for key in site_contact_keys.values())}
        object.__setattr__(self, "mapped", frozenset(mapped))

    def to_study(self, section: Any, source_format: str,
                 clean: Callable[[Any], Any] = lambda value: value,
                 more: dict[str, Any] | None = None) -> Study:
        """A Study from a protocol section; `clean` pre-processes each string value (e.g. to
        undo Markdown escapes); `more` adds values found outside the section. Raises
        RecordError without a valid NCT ID."""
        values: dict[str, Any] = {name: clean(first(section, path))
                                  for name, path in {**self.fields, **self.kept}.items()}
        values.update({name: [clean(v) for v in collect(section, path)]
                       for name, path in self.lists.items()})
        items_path, type_key, name_key = self.interventions
        values["interventions"] = [
            intervention_label(item.get(type_key), clean(item.get(name_key)))
            for item in collect(section, items_path) if isinstance(item, dict)
        ]
        places_path, place_keys = self.sites
        contacts_path, contact_keys = self.contacts
        site_contacts_path, site_contact_keys = self.site_contacts
        values["contacts"] = _objects(section, contacts_path, contact_keys, clean)
        values["sites"] = [
            {**{name: clean(first(place, key)) for name, key in place_keys.items()},
             "contacts": _objects(place, site_contacts_path, site_contact_keys, clean)}
            for place in collect(section, places_path) if isinstance(place, dict)
        ]
        values.update(more or {})
        study = build_study(values, source_format)
        for key, value in flatten(section, self.mapped):
            study.add_extra(key, value)
        return study


def _objects(node: Any, path: str, keys: dict[str, str],
             clean: Callable[[Any], Any]) -> list[dict[str, Any]]:
    """The objects at `path` under `node`, each as {field name: its value at `keys`}."""
    return [{name: clean(first(item, key)) for name, key in keys.items()}
            for item in collect(node, path) if isinstance(item, dict)]
