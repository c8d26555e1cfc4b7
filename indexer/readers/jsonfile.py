"""JSON documents and JSON Lines holding study records of any JSON dialect (API v2, classic
API, TREC corpus), mixed freely.

A document of several lines whose first line is a whole JSON value is JSON Lines and is
streamed line by line (registry dumps run to gigabytes); anything else is one document and is
loaded whole. Search
pages (`{"studies": [...]}`) and `FullStudiesResponse` wrappers are unpacked into their records.
The first record decides what the file is: study records are read, TREC topics and TrialGPT
topic summaries make the whole file one "ignored" problem, anything else one error.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

from ..model import Problem, Study
from . import api_v1, api_v2, trec
from .records import Found, RecordError, Where
from .sources import Document

_DIALECTS = (api_v2, api_v1, trec)

Mapper = Callable[[dict], Study]


def read(doc: Document) -> Iterator[Found | Problem]:
    """Yield the studies in a JSON or JSON Lines document, and a Problem for each bad one."""
    first = True
    for item in _records(doc):
        if isinstance(item, Problem):
            first = False
            yield item
            continue
        where, record = item
        kind = _classify(record)
        if first and not callable(kind):
            # The first record says what the file is: one problem for it, not one per line.
            yield doc.ignored(kind) if kind else doc.problem(
                f"JSON, but not a known study record format ({_describe(record)})")
            return
        first = False
        if not callable(kind):
            yield where.problem(f"not a study record ({_describe(record)})")
            continue
        try:
            yield Found(where, kind(record))
        except RecordError as exc:
            yield where.problem(str(exc))
    if first:
        yield doc.problem("no study records found")


def _classify(record: Any) -> Mapper | str | None:
    """The mapper for a study record, a description for a known non-record, or None."""
    if not isinstance(record, dict):
        return None
    for dialect in _DIALECTS:
        if dialect.is_record(record):
            return dialect.to_study
    if "_id" in record and "text" in record:
        return "TREC topics"
    if record and all(isinstance(v, dict) and "raw" in v for v in record.values()):
        return "TrialGPT topic summaries (id2queries)"
    return None


def _describe(record: Any) -> str:
    if isinstance(record, dict):
        keys = ", ".join(str(k) for k in itertools.islice(record, 5))
        return f"keys: {keys}" if keys else "an empty object"
    return f"a JSON {type(record).__name__}"


def _records(doc: Document) -> Iterator[tuple[Where, Any] | Problem]:
    lines = doc.lines()
    content = (item for item in lines if item[1].strip())
    opening = next(content, None)
    following = next(content, None)
    if opening is not None and following is not None and _is_json_lines(opening[1]):
        yield from _line_records(doc, itertools.chain([opening, following], content))
    else:
        # One document, possibly on a single line: records are numbered, not lines.
        lines.close()
        yield from _document_records(doc)


def _is_json_lines(line: str) -> bool:
    """A first line that is a complete value, or looks like one but is broken, means JSON Lines
    (a pretty-printed document opens with a bare `{` or `{"studies": [`)."""
    try:
        json.loads(line)
        return True
    except (ValueError, RecursionError):
        stripped = line.strip()
        return len(stripped) > 1 and stripped.startswith("{") and stripped.endswith("}")


def _line_records(doc: Document, lines) -> Iterator[tuple[Where, Any] | Problem]:
    for number, line in lines:
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            yield doc.problem(f"malformed JSON: {_json_error(exc)}", f"line {number}")
            continue
        yield from _placed(value, doc.name, number)


def _document_records(doc: Document) -> Iterator[tuple[Where, Any] | Problem]:
    try:
        value = json.loads(doc.text())
    except (ValueError, RecursionError) as exc:
        where = f"line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        yield doc.problem(f"malformed JSON: {_json_error(exc)}", where)
        return
    yield from _placed(value, doc.name, None)


def _placed(value: Any, name: str, line: int | None) -> Iterator[tuple[Where, Any]]:
    """The records in one parsed value, each with its place (containers number theirs)."""
    batch = _unwrap(value)
    if batch is None:
        yield Where(name, line=line), _unwrap_study(value)
    else:
        for index, record in enumerate(batch, 1):
            yield Where(name, line=line, record=index), record


def _unwrap(value: Any) -> list | None:
    """The records inside a container (search page, FullStudies response, JSON array); None
    when `value` is a single record."""
    if isinstance(value, dict):
        response = value.get("FullStudiesResponse", value)
        if isinstance(response, dict) and isinstance(response.get("FullStudies"), list):
            value = response["FullStudies"]
        elif isinstance(value.get("studies"), list):
            value = value["studies"]
    if not isinstance(value, list):
        return None
    return [_unwrap_study(item) for item in value]


def _unwrap_study(value: Any) -> Any:
    """A classic `{"Rank": 1, "Study": {...}}` entry (or a bare `{"Study": ...}`) unpacked."""
    if isinstance(value, dict) and isinstance(value.get("Study"), dict):
        return value["Study"]
    return value


def _json_error(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (column {exc.colno})"
    return str(exc)
