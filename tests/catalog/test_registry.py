"""The registry's values and their spellings: one grammar for what records and people write."""

from __future__ import annotations

import pytest

from indexer.catalog.facets import FACETS
from indexer.catalog.registry import (
    FUNDER_TYPE,
    PHASE,
    SEX,
    STATUS,
    parse_flag,
    record_phases,
    record_std_ages,
)
from indexer.errors import QueryError


@pytest.mark.parametrize(("written", "phases"), [
    ("Phase 1/Phase 2", ["PHASE1", "PHASE2"]),  # legacy XML
    ("Phase 2|Phase 3", ["PHASE2", "PHASE3"]),  # the classic TSV export
    ("PHASE2", ["PHASE2"]), ("Phase II", ["PHASE2"]), ("Phase 1/2", ["PHASE1", "PHASE2"]),
    ("Early Phase 1", ["EARLY_PHASE1"]), ("N/A", ["NA"]), ("Not Applicable", ["NA"]),
    ("Phase 1 Phase 2", ["PHASE1", "PHASE2"]), (["PHASE1", "PHASE2"], ["PHASE1", "PHASE2"]),
    ("", []), (None, []), ("Phase 9", []),
])
def test_records_phases_in_any_notation(written, phases):
    assert record_phases(written) == phases


@pytest.mark.parametrize(("typed", "phases"), [
    ("2", ["PHASE2"]), ("II", ["PHASE2"]), ("phase 2", ["PHASE2"]), ("1/2", ["PHASE1", "PHASE2"]),
    ("early phase 1", ["EARLY_PHASE1"]), ("n/a", ["NA"]), ("2 and 3", ["PHASE2", "PHASE3"]),
])
def test_typed_phases_use_the_same_grammar(typed, phases):
    assert PHASE.parse(typed) == phases


def test_a_typed_phase_that_names_none_is_refused_with_the_values():
    with pytest.raises(QueryError, match=r"unknown phase '2/9'; phase is one of: .* \(or 1, 2, II, 1/2\)") as raised:
        PHASE.parse("2/9")
    assert raised.value.param == "phase"


@pytest.mark.parametrize(("enumeration", "written", "value"), [
    (STATUS, "Active, not recruiting", "ACTIVE_NOT_RECRUITING"), (STATUS, "Unknown status", "UNKNOWN"),
    (SEX, "Both", "ALL"), (SEX, "women", "FEMALE"), (FUNDER_TYPE, "U.S. Fed", "FED"),
    (FUNDER_TYPE, "OTHER_GOV", "OTHER"), (FUNDER_TYPE, "pharma", "INDUSTRY"), (SEX, "N/A", None),
])
def test_records_and_people_spell_values_alike(enumeration, written, value):
    assert enumeration.canonical(written) == value


def test_flags_and_age_groups_as_the_exports_write_them():
    assert parse_flag("Accepts Healthy Volunteers") is True and parse_flag("No Results Available") is False
    assert parse_flag(True) is True and parse_flag("perhaps") is None and parse_flag(3) is None
    assert record_std_ages(["Older Adult", "Child"]) == ["CHILD", "OLDER_ADULT"]
    assert record_std_ages("Child, Adult, Teen") == ["CHILD", "ADULT"]


def test_labels_read_as_words():
    assert STATUS.label("NOT_YET_RECRUITING") == "Not yet recruiting"
    assert PHASE.label("EARLY_PHASE1") == "Early phase 1" and PHASE.label("NA") == "Not applicable"
    assert FUNDER_TYPE.label("FED") == "Other U.S. federal agency"


@pytest.mark.parametrize("facet", FACETS, ids=lambda facet: facet.name)
def test_every_example_is_a_value_its_facet_takes(facet):
    examples = facet.example.split(",") if facet.kind.several else [facet.example]
    assert facet.kind.index_values(facet, examples)
