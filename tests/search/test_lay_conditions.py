"""How many lay condition names people type the condition vocabulary maps to the right
condition, on ../shared/data with ../shared/eval_corpus: the judged list in
tests/fixtures/lay-conditions.tsv (docs/evaluation.md#conditions-as-concepts). Run with `-s`
to see the table.

Each name is named by `named_conditions` as one of:
- correct: one condition covers all its words and stands for an expected MeSH term (one of
  its terms, or one of its phrases is the term's);
- unlinked: one condition covers all its words and is a condition string the records use,
  linked to no MeSH term ("Anaemia"): the right condition by construction (the records' own
  name for it), though it finds only the studies that write it so;
- wrong: one condition covers all its words and stands for other terms only; or the name is
  judged `none` (no study carries it) and anything covers it;
- part: only some of its words name a condition ("cancer" of "bowel cancer"): not found,
  listed with what they named;
- not found: none of its words name a condition.
"""

from __future__ import annotations

import pytest
from conftest import PROJECT_ROOT

from indexer import open_index
from indexer.index.analysis import analyze
from indexer.index.concepts import uninverted
from indexer.search.conditions import Condition

JUDGED = PROJECT_ROOT / "tests" / "fixtures" / "lay-conditions.tsv"
OUTCOMES = ("correct", "unlinked", "wrong", "part", "not found")
# Of the names found (correct, unlinked or wrong), the share mapped to the right condition.
# The lead's fusion ranks a named condition's studies first, so a wrong mapping puts unrelated
# studies at the top of someone's search: at most one found name in ten may be wrong.
MIN_PRECISION = 0.9
# The names found correct on these records (17 when the list was first scored): a floor, so a
# change that maps fewer of them is seen.
MIN_CORRECT = 17
QUERIES = ["heart attack", "blood cancer in kids", "platelet rich plasma osteoarthritis",
           "high blood pressure"]


def judged() -> list[tuple[str, list[str] | None]]:
    """(lay name, expected MeSH terms or None for `none`), as the fixture lists them."""
    rows = []
    for line in JUDGED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, expected, *_ = line.split("\t")
            rows.append((name, None if expected == "none" else expected.split("|")))
    return rows


def stands_for(condition: Condition, terms: list[str] | None) -> bool:
    """Whether `condition` stands for one of `terms`."""
    phrases = {tuple(analyze(form)) for term in terms or [] for form in (term, uninverted(term))}
    return bool(set(condition.terms) & set(terms or [])) or bool(phrases & set(condition.phrases))


def judge(conditions: list[Condition], name: str, expected: list[str] | None) -> str:
    """The outcome (module docstring) of the conditions `name` named."""
    whole = [c for c in conditions if analyze(c.words) == analyze(name)]
    if not whole:
        return "part" if conditions else "not found"
    if expected is None:
        return "wrong"
    if any(stands_for(c, expected) for c in whole):
        return "correct"
    return "unlinked" if all(not c.terms for c in whole) else "wrong"


def shown(conditions: list[Condition]) -> str:
    """What a query named: `words -> name [terms]`, or '-'."""
    return "; ".join(f"{c.words} -> {c.name}" + (f" [{', '.join(c.terms)}]" if c.terms else "")
                     for c in conditions) or "-"


def test_judging():
    attack = Condition("Heart Attack", "heart attack", ("Myocardial Infarction",),
                       (("heart", "attack"), ("myocardi", "infarct")))
    assert judge([attack], "heart attacks", ["Myocardial Infarction"]) == "correct"
    assert judge([attack], "heart attack", ["Angina Pectoris"]) == "wrong"
    assert judge([attack], "heart attack", None) == "wrong"
    anaemia = Condition("Anaemia", "anaemia", (), (("anaemia",),))
    assert judge([anaemia], "anaemia", ["Anemia"]) == "unlinked"
    cancer = Condition("Cancer", "cancer", (), (("cancer",),))
    assert judge([cancer], "bowel cancer", ["Colorectal Neoplasms"]) == "part"
    assert judge([], "lockjaw", ["Tetanus"]) == "not found"


@pytest.mark.slow
def test_lay_condition_names_map_to_their_conditions(shared_eval_index):
    vocabulary = open_index(shared_eval_index).snapshot().conditions
    rows = judged()
    assert len(rows) >= 60 and len({name for name, _ in rows}) == len(rows)
    outcomes: dict[str, list[str]] = {outcome: [] for outcome in OUTCOMES}
    print(f"\n{'lay name':28} {'outcome':10} named")
    for name, expected in rows:
        conditions = vocabulary.named_conditions(name)
        outcome = judge(conditions, name, expected)
        outcomes[outcome].append(name)
        print(f"{name:28} {outcome:10} {shown(conditions)}")
    found = sum(len(outcomes[o]) for o in ("correct", "unlinked", "wrong"))
    right = len(outcomes["correct"]) + len(outcomes["unlinked"])
    print(f"\n{len(rows)} names, {found} found: " + ", ".join(
        f"{len(names)} {outcome}" for outcome, names in outcomes.items())
          + f"; precision {right / found:.3f} ({len(outcomes['correct']) / found:.3f} linked "
          f"to the expected term); wrong: {', '.join(outcomes['wrong']) or 'none'}")
    for text in QUERIES:
        print(f"{text!r}: {shown(vocabulary.named_conditions(text))}")
    assert right / found >= MIN_PRECISION, outcomes["wrong"]
    assert len(outcomes["correct"]) >= MIN_CORRECT
