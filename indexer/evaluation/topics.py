"""The files an evaluation reads: TREC Clinical Trials topics (patient descriptions), their
relevance judgments (qrels) and TrialGPT's short typed queries, each checked so a bad file is a
one-line `EvalInputError` naming the file and line.

    topics = read_topics("queries.jsonl"); qrels = read_qrels("qrels.tsv")
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import TrialsearchError

ELIGIBLE = 2  # qrels grades: 2 eligible, 1 excluded, 0 not relevant
# Short queries: the first SHORT_CONDITIONS conditions of SHORT_SOURCE's entry for each topic in
# TrialGPT's id2queries.json ({topic id: {"raw", "gpt-4-turbo": {"summary", "conditions"}, ...}}),
# joined by a space, as a user would type them.
SHORT_SOURCE = "gpt-4-turbo"
SHORT_CONDITIONS = 2


class EvalInputError(TrialsearchError):
    """A topics or qrels file that cannot be used, with the file and line that say why."""


def read_topics(path: str | os.PathLike) -> dict[str, str]:
    """Topic id -> patient description from TREC CT topics JSON Lines (`{"_id", "text"}`)."""
    topics: dict[str, str] = {}
    for number, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not (isinstance(record, dict) and isinstance(record.get("_id"), str)
                and isinstance(record.get("text"), str)):
            raise EvalInputError(f"{path} line {number}: expected a JSON object with string "
                                 '"_id" and "text" (TREC CT topics as JSON Lines)')
        topics[record["_id"]] = record["text"]
    if not topics:
        raise EvalInputError(f"{path}: no topics (expected JSON Lines of {{\"_id\", \"text\"}})")
    return topics


def read_qrels(path: str | os.PathLike) -> dict[str, dict[str, int]]:
    """Topic id -> {NCT ID: grade} from a qrels TSV with a `query-id corpus-id score` header."""
    qrels: dict[str, dict[str, int]] = {}
    expected = "expected 'query-id<TAB>corpus-id<TAB>score' with a header line"
    lines = _read_lines(path)
    if not lines or [h.lower() for h in lines[0].split()] != ["query-id", "corpus-id", "score"]:
        raise EvalInputError(f"{path} line 1: {expected} (TREC CT qrels TSV)")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split()
        if len(cells) != 3 or not cells[2].lstrip("-").isdigit():
            raise EvalInputError(f"{path} line {number}: {expected}, got {line.strip()[:80]!r}")
        qrels.setdefault(cells[0], {})[cells[1].upper()] = int(cells[2])
    if not qrels:
        raise EvalInputError(f"{path}: no judgments after the header")
    return qrels


def read_short_queries(path: str | os.PathLike) -> dict[str, str]:
    """Topic id -> short typed query from TrialGPT's id2queries.json: the first
    SHORT_CONDITIONS conditions of its SHORT_SOURCE entry, joined by a space. Topics whose entry
    lacks them are left out (the evaluation counts them as skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise EvalInputError(f"cannot read {path}: {exc.strerror}") from exc
    expected = (f'expected a JSON object of topic id -> {{"{SHORT_SOURCE}": {{"conditions": '
                '[...]}}, ...}} (TrialGPT id2queries.json)')
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvalInputError(f"{path} line {exc.lineno}: not JSON ({exc.msg}); {expected}") from None
    if not isinstance(data, dict) or not data:
        raise EvalInputError(f"{path}: {expected}")
    queries: dict[str, str] = {}
    for topic, entry in data.items():
        if not isinstance(entry, dict):
            raise EvalInputError(f"{path}: topic {topic!r}: {expected}")
        source = entry.get(SHORT_SOURCE)
        conditions = source.get("conditions") if isinstance(source, dict) else None
        if source is not None and not (isinstance(conditions, list)
                                       and all(isinstance(c, str) for c in conditions)):
            raise EvalInputError(f"{path}: topic {topic!r}: \"{SHORT_SOURCE}\" has no list of "
                                 f'"conditions"; {expected}')
        words = " ".join(c.strip() for c in (conditions or [])[:SHORT_CONDITIONS] if c.strip())
        if words:
            queries[topic] = words
    return queries


def _read_lines(path: str | os.PathLike) -> list[str]:
    # Topic and qrels files are small (well under a megabyte): read them whole.
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise EvalInputError(f"cannot read {path}: {exc.strerror}") from exc
