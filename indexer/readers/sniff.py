"""Recognising a document's format from its first few KB, never from its file name."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from ..model import Problem
from . import jsonfile, text, tsv, xml
from .records import Found
from .sources import Document

Reader = Callable[[Document], Iterator[Found | Problem]]

_TEXT_EXPORT = re.compile(rf"{text.STUDY_START.pattern}|^Study NCT ID:", re.M)
# "# Title" or a title underlined with "===" / "---" near the top.
_MARKDOWN_HEADING = re.compile(r"\A(?:.*\n){0,5}?(?:#{1,6}[ \t]+\S|\S.*\n(?:=+|-+)[ \t]*$)", re.M)
# TrialGPT's `query-id corpus-id score` and the official `topic 0 NCT... relevance` lines.
_QRELS = re.compile(r"^(query-id\s+corpus-id\s+score|\S+\s+(\S+\s+)?NCT\d{8}\s+-?\d+)\s*$", re.I)


def detect(doc: Document) -> Reader | Problem:
    """The reader for `doc`, or the one Problem that stands for the whole document (empty,
    not a study record file, or unrecognised). Raises NotUtf8Error."""
    head = doc.head().lstrip()
    if not head:
        return doc.problem("empty file")
    if head[0] in "{[":
        return jsonfile.read
    if head[0] == "<":
        return xml.read
    lines = head.splitlines()
    if _MARKDOWN_HEADING.match(head):
        return doc.ignored("Markdown text")
    if _TEXT_EXPORT.search(head):
        return text.read
    if tsv.HEADER_MARK in lines[0]:
        return tsv.read
    if _QRELS.match(lines[0]):
        return doc.ignored("TREC qrels")
    if _is_tab_table(lines):
        return doc.ignored(f"a table without an '{tsv.HEADER_MARK}' column")
    return doc.problem("unrecognised content (not a known study record format)")


def _is_tab_table(lines: list[str]) -> bool:
    # The last line of the sample may be cut short, so it does not count.
    sample = lines[:-1] if len(lines) > 2 else lines
    tabs = {line.count("\t") for line in sample if line.strip()}
    return len(tabs) == 1 and tabs != {0}
