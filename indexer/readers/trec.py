"""TREC Clinical Trials corpus records (TrialGPT's corpus JSON Lines):
`{"_id", "title", "text", "metadata": {brief_title, phase, drugs_list, diseases_list,
enrollment, inclusion_criteria, exclusion_criteria, brief_summary}}`.

`text` is built as "Summary: <brief_summary>\\nInclusion criteria: ...\\nExclusion criteria:
..."; it becomes the detailed description only where it says more than the summary.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import Study, clean_text, normalize_nct_id
from .jsonmap import flatten
from .records import build_study

FORMAT = "trec"

# Metadata keys some corpus builds add (TrialGPT's corpus has none of them; no locations,
# results or sponsor class in any): Study field -> key.
_OPTIONAL = {"sex": ("gender", "sex"), "minimum_age": ("minimum_age",),
             "maximum_age": ("maximum_age",), "healthy_volunteers": ("healthy_volunteers",)}
# Metadata keys mapped below; `drugs` and `diseases` are string copies of the `_list` keys.
_MAPPED = frozenset({"brief_title", "brief_summary", "phase", "enrollment", "drugs",
                     "drugs_list", "diseases", "diseases_list", "inclusion_criteria",
                     "exclusion_criteria", *(key for keys in _OPTIONAL.values() for key in keys)})
# The corpus prefixes criteria with their own heading ("inclusion criteria: ", ": ").
_CRITERIA_LEAD = re.compile(r"^\s*(?:(?:in|ex)clusion criteria)?\s*:?\s*", re.I)


def is_record(record: dict) -> bool:
    """True for a corpus record: an `_id` with metadata, or an `_id` that is an NCT ID (topic
    records have ids like `trec-20211` and empty metadata)."""
    return "_id" in record and (bool(record.get("metadata"))
                                or normalize_nct_id(record["_id"]) is not None)


def to_study(record: dict) -> Study:
    """Map one TREC corpus record. Raises RecordError without a valid NCT ID."""
    meta = record.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    title = clean_text(record.get("title"))
    brief_title = clean_text(meta.get("brief_title")) or title
    summary = meta.get("brief_summary")
    study = build_study({
        "nct_id": record.get("_id"),
        "brief_title": brief_title,
        "official_title": title if title != brief_title else "",
        "brief_summary": summary,
        "detailed_description": _description(record.get("text"), summary),
        "phases": meta.get("phase"),
        "enrollment": meta.get("enrollment"),
        "conditions": meta.get("diseases_list"),
        "interventions": meta.get("drugs_list"),
        "eligibility_criteria": _criteria(meta.get("inclusion_criteria"),
                                          meta.get("exclusion_criteria")),
        **{name: next((meta[key] for key in keys if meta.get(key) is not None), None)
           for name, keys in _OPTIONAL.items()},
    }, FORMAT)
    for key, value in flatten(meta, _MAPPED):
        study.add_extra(key, value)
    return study


def _criteria(inclusion: Any, exclusion: Any) -> str:
    parts = []
    for heading, text in (("Inclusion Criteria", inclusion), ("Exclusion Criteria", exclusion)):
        body = clean_text(_CRITERIA_LEAD.sub("", text)) if isinstance(text, str) else ""
        if body:
            parts.append(f"{heading}: {body}")
    return " ".join(parts)


def _description(text: Any, summary: Any) -> str:
    if not isinstance(text, str):
        return ""
    body = text.split("\nInclusion criteria:", 1)[0].strip().removeprefix("Summary:")
    return "" if clean_text(body) in ("", clean_text(summary)) else body
