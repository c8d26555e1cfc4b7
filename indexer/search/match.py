"""Patient mode: a patient's description in, the studies that patient could join out, each with
the reasons (`SearchIndex.match`, which the web app, the CLI and evaluation call).

    index.match("A 58-year-old woman, nonsmoker, with exertional dyspnea and a left lung mass")

1. **Read** the description (`patient.read_patient`): the age, the sex, pregnancy; and the
   conditions it names (`patient_conditions.conditions_named`: the index's condition names,
   their MeSH synonyms and its abbreviations). The request may correct each (`age`, `sex`,
   `conditions`) or lift the age and sex filters (`age_filter`, `sex_filter`).
2. **Rank** through the ordinary search (`SearchIndex.search`: its fusion, filters and
   paging; no facet counts). The words side is the description's weighted key terms
   (`keyterms.key_terms`) OR-ed, with the conditions it names as phrases of their own (where
   the index holds their synonyms, the search expands them as it expands any phrase), over the
   search's fields and the eligibility criteria; the meaning side reads the description, led
   by the names of its conditions. The age and sex are the catalog's `age` and `sex` filters,
   which a study that states no limit always passes.
3. **Explain** each hit from its stored record (`reasons.reasons_for`).

A description is never logged or written anywhere: it lives in the request, and the words
query made from it in the search core's per-generation memo of prepared queries (memory only).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..catalog.fields import SEARCH_FIELD_BOOSTS
from ..errors import QueryError
from ..index.analysis import analyze
from .filters import parse_filters
from .keyterms import DEFAULT_KEY_TERMS, KeyQuery, fit_query, key_terms
from .patient import FEMALE, MALE, Patient, other_language, read_patient
from .patient_conditions import MAX_WORDS, Condition, ConditionVocabulary, conditions_named
from .reasons import Reasons, reasons_for
from .request import DEFAULT_PER_PAGE, SearchRequest
from .results import SearchResult

if TYPE_CHECKING:  # live.py imports this module for SearchIndex.match
    from .live import SearchIndex

MAX_DESCRIPTION = 20_000  # characters: several pages of case notes
MAX_CONDITIONS = 20  # conditions a request may give instead of those read
MAX_CONDITION_LENGTH = 200
# A condition the description names weighs this much on the words side, as a phrase beside the
# key terms (whose weights have a mean of 1). nDCG@10 on the whole index: none 0.326, 0.5
# 0.330, 1.0 0.334, 2.0 0.318; in the judged pool none 0.725, 1.0 0.742.
CONDITION_WEIGHT = 1.0
# The fields the words side searches: the search's own and the eligibility criteria, which a
# case description reads much like (on the 96 TREC topics of docs/evaluation.md: +0.019
# nDCG@10 on the whole index, +0.031 in the judged pool).
PATIENT_FIELDS = (*SEARCH_FIELD_BOOSTS, "eligibility")
# Key terms that say why a study was found are the description's heavier ones (weight at least
# this, of a mean of 1): "astrocytoma", not "right".
REASON_TERM_WEIGHT = 1.0
# The response's keys, in order (`MatchResult.to_dict`).
RESPONSE_ORDER = ("patient", "filters", "key_terms", "total", "page", "per_page", "took_ms",
                  "results", "notices", "timed_out", "mode", "mode_note", "place")


class DescriptionTooLong(QueryError):
    """A description over MAX_DESCRIPTION characters (the web app answers 413)."""


@dataclass(frozen=True)
class MatchRequest:
    """A validated patient search. `description`: the patient's case, 1 to MAX_DESCRIPTION
    characters; `filters`: any search filters, where `age` and `sex` correct what the
    description says; `age_filter`, `sex_filter`: False lifts that filter; `conditions`: the
    conditions to use instead of those the description names; `reasons`: whether to explain
    each hit; `key_terms`: how many of the description's words rank it; `only`: NCT IDs the
    results are kept to. Raises QueryError naming the parameter when a value is out of
    bounds (DescriptionTooLong for a description over the limit)."""

    description: str = ""
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    age_filter: bool = True
    sex_filter: bool = True
    conditions: tuple[str, ...] | None = None
    mode: str | None = None
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    highlights: bool = True
    reasons: bool = True
    key_terms: int = DEFAULT_KEY_TERMS
    only: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.description, str) or not self.description.strip():
            raise QueryError("description is empty: describe the patient (age, sex, conditions, "
                             "history)", param="description")
        if len(self.description) > MAX_DESCRIPTION:
            raise DescriptionTooLong(f"description is {len(self.description):,} characters long; "
                                     f"the limit is {MAX_DESCRIPTION:,}", param="description")
        for name in ("age_filter", "sex_filter", "highlights", "reasons"):
            if not isinstance(getattr(self, name), bool):
                raise QueryError(f"{name} must be true or false", param=name)
        if self.conditions is not None:
            object.__setattr__(self, "conditions", _conditions(self.conditions))
        if not isinstance(self.key_terms, int) or not 1 <= self.key_terms <= 100:
            raise QueryError("key_terms must be between 1 and 100", param="key_terms")
        # The search request checks the filters, mode and paging, and normalises the filters.
        search = SearchRequest(filters=self.filters, mode=self.mode, page=self.page,
                               per_page=self.per_page, only=self.only)
        parse_filters(search.filters)  # across filters too: radius needs near, near a known place
        if search.filters.get("sex", (FEMALE,))[0] not in (FEMALE, MALE):
            raise QueryError("sex is the patient's: FEMALE or MALE (sex_filter false lifts the "
                             "filter)", param="sex")
        object.__setattr__(self, "filters", search.filters)
        object.__setattr__(self, "only", search.only)

    def replace(self, **changes: Any) -> MatchRequest:
        """A copy with `changes`, validated again."""
        return dataclasses.replace(self, **changes)


@dataclass
class MatchResult:
    """What patient mode answers: the `patient` as read (and corrected by the request), the
    age and sex the studies were filtered by (`filters`, None where not), the `key_terms` that
    ranked them, the `search` (hits, total, mode, ...; no facet counts), each hit's `reasons`,
    and notices
    (an age or sex the description does not give, a filter lifted, then the search's)."""

    patient: Patient
    filters: dict[str, Any]
    key_terms: list[str]
    search: SearchResult
    reasons: list[Reasons]
    notices: list[str]
    took_ms: float = 0.0

    @property
    def hits(self) -> list:
        """The page of hits (`SearchResult.hits`), in order; `reasons` are theirs."""
        return self.search.hits

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as the API answers: the search's page with each result's `reasons`."""
        data = {**self.search.to_dict(), "patient": self.patient.to_dict(), "filters": self.filters,
                "key_terms": self.key_terms, "notices": self.notices, "took_ms": self.took_ms}
        for hit, reasons in zip(data["results"], self.reasons):
            hit["reasons"] = reasons.to_dict()
        return {key: data[key] for key in RESPONSE_ORDER}


def match_patient(index: SearchIndex, request: MatchRequest | str, **options: Any) -> MatchResult:
    """Run patient mode (see the module docstring): `request` is a MatchRequest, or the
    description with the request's other fields as keyword arguments."""
    started = time.perf_counter()
    if isinstance(request, str):
        request = MatchRequest(description=request, **options)
    elif options:
        request = request.replace(**options)
    patient, notices = _patient(index, request)
    filters = {name: values for name, values in request.filters.items() if name not in ("age", "sex")}
    applied: dict[str, Any] = {"age": None, "sex": None}
    if request.age_filter and patient.age_years is not None:
        applied["age"] = patient.age_years
        filters["age"] = (f"{patient.age_years:g}",)
    if request.sex_filter and patient.sex is not None:
        applied["sex"] = patient.sex
        filters["sex"] = (patient.sex,)
    words = fit_query(_with_conditions(key_terms(request.description, index, request.key_terms),
                                       patient.conditions), index)
    schema = index.searcher().schema  # an index built before a field existed searches the others
    search = SearchRequest(q=words.text(), operator="or",
                           fields=tuple(name for name in PATIENT_FIELDS if name in schema),
                           meaning=meaning_text(request.description, patient.conditions),
                           filters=filters, mode=request.mode, page=request.page,
                           per_page=request.per_page, facets=False,
                           highlights=request.highlights, only=request.only)
    if words.words:
        result = index.search(search)
    elif index.meaning_unavailable() is None:  # no word the index holds: by meaning alone
        notices.append("none of the description's words is in the index; it is searched by "
                       "its meaning alone")
        result = index.search(search.replace(mode="semantic"))
    else:
        notices.append("none of the description's words is in the index, and the index cannot "
                       "search by meaning: nothing to search by")
        result = SearchResult(query="", total=0, page=request.page, per_page=request.per_page,
                              took_ms=0.0, hits=[], facets={})
    typed = [(word, weight) for word, weight in zip(words.words, words.weights)
             if not word.startswith('"')]  # the description's words, not the conditions' phrases
    terms = {stems[0]: word for word, weight in typed
             if weight >= REASON_TERM_WEIGHT and len(stems := analyze(word)) == 1}
    studies = [index.get(hit.nct_id) for hit in result.hits] if request.reasons else []
    # A study deleted since it was ranked has nothing to say for itself.
    reasons = [reasons_for(study, patient, terms) if study else Reasons() for study in studies]
    return MatchResult(patient=patient, filters=applied,
                       key_terms=[word for word, _ in typed], search=result,
                       reasons=reasons, notices=notices + result.notices,
                       took_ms=round((time.perf_counter() - started) * 1000, 2))


def _patient(index: SearchIndex, request: MatchRequest) -> tuple[Patient, list[str]]:
    """The patient the description gives, with the request's corrections, and what the
    response should say about the age and sex filters."""
    patient = read_patient(request.description)
    snap = index.snapshot()
    conditions = (conditions_named(snap, request.description) if request.conditions is None
                  else ConditionVocabulary.of(snap).given(request.conditions))
    changes: dict[str, Any] = {"conditions": conditions}
    if "age" in request.filters:
        changes.update(age_years=float(request.filters["age"][0]), age_text="as given")
    if "sex" in request.filters:
        changes.update(sex=request.filters["sex"][0], sex_text="as given")
    patient = dataclasses.replace(patient, **changes)
    notices = []
    if language := other_language(request.description):
        notices.append(f"the description seems to be in {language}: patient mode reads English, "
                       "so its age, sex and conditions may be missed; it is searched as written")
    for name, value, lifted, example in (
            ("age", patient.age_years, not request.age_filter, "“58-year-old”, “aged 70”"),
            ("sex", patient.sex, not request.sex_filter, "woman, man, girl, boy, he, she")):
        if lifted:
            notices.append(f"the {name} filter is lifted: studies are shown whatever their {name} "
                           "limits")
        elif value is None:
            notices.append(f"the description gives no {name} (as in {example}): studies are not "
                           f"filtered by {name}")
    return patient, notices


def meaning_text(description: str, conditions: tuple[Condition, ...]) -> str:
    """What the meaning side reads: the description, led by the names of the conditions it
    names, so they are read even where a long description runs past the 256 word pieces the
    encoder reads (+0.008 nDCG@10 on the whole index; no change in the judged pool)."""
    if not conditions:
        return description
    return f"{'; '.join(condition.name for condition in conditions)}. {description}"


def _with_conditions(key: KeyQuery, conditions: tuple[Condition, ...]) -> KeyQuery:
    """The key terms with each condition as a phrase of its own (quotes and backslashes taken
    out of its name), heaviest first as `fit_query` wants them."""
    entries = list(zip(key.words, key.weights))
    for condition in conditions:
        name = " ".join(condition.name.replace('"', " ").replace("\\", " ").split()[:MAX_WORDS])
        if name:
            entries.append((f'"{name}"', CONDITION_WEIGHT))
    entries.sort(key=lambda entry: -entry[1])
    return KeyQuery([word for word, _ in entries], [weight for _, weight in entries], key.topic)


def _conditions(given: Any) -> tuple[str, ...]:
    """Conditions a request gives, checked: a list of at most MAX_CONDITIONS texts."""
    values = [given] if isinstance(given, str) else given
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise QueryError("conditions must be a list of texts", param="conditions")
    values = [" ".join(v.split()) for v in values if v.strip()]
    if len(values) > MAX_CONDITIONS or any(len(v) > MAX_CONDITION_LENGTH for v in values):
        raise QueryError(f"at most {MAX_CONDITIONS} conditions of at most "
                         f"{MAX_CONDITION_LENGTH} characters each", param="conditions")
    return tuple(values)
