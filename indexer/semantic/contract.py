"""The vector contract: what a stored study vector means, and how the process that computes
vectors and the processes that read them agree. Declared once, here, for the filler
(`fill.py`), the search side (`indexer.search.meaning`) and evaluation, so the read side never
imports the filling job.

A vector is valid for one model (`model_id`) and one text (`study_text`, remembered by its
`text_hash`); a filler fills again when `index_stamp` changes, and at most one filler works on
an index at a time (`filler_lock`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from ..errors import IndexUnreadableError, IndexWriteError
from ..index.abbreviations import mine_pairs
from ..index.layout import CURRENT_FILE, VECTORS_LOCK
from ..model import Study
from ..whoosh.generation import open_generation

# A short form as abbreviations are written: a capital, then capitals, digits, hyphens ("MSC",
# "IL-6", "COVID-19", "PRP"); a plural s allowed ("MSCs").
_SHORT_FORM = re.compile(r"\b[A-Z][A-Z0-9-]*[A-Z0-9]s?\b")


def model_id(encoder) -> str:
    """The name vectors are stored under: the model package, its version and the precision,
    and the word pieces read when fewer than the model's ("… int8 w128")."""
    window = getattr(encoder, "max_seq_length", None)
    cut = f" w{window}" if window and window != getattr(encoder, "model_max_seq", window) else ""
    return f"{encoder.source} {encoder.precision}{cut}"


def encoder_options(model: str) -> dict:
    """The `SentenceEncoder` options that encode queries for vectors stored under `model`
    (see `model_id`): {"int8": ..., "window": ...}."""
    words = model.split()
    window = next((int(w[1:]) for w in words[2:] if w[:1] == "w" and w[1:].isdigit()), None)
    return {"int8": "int8" in words[2:], "window": window}


def study_text(study: Study, abbreviations: Mapping[str, Sequence[str]] | None = None) -> str:
    """What a study's vector is computed from: title, conditions and brief summary (the model
    reads 256 word pieces, so the most telling text goes first), each abbreviation in it spelled
    out once: by the study's own definition ("platelet-rich plasma (PRP)"), else by the index's
    (`abbreviations`: short form -> long forms, as the generation stores them) where it knows
    one long form only. The model cannot know that PRP is platelet-rich plasma; a query that
    says either must find both."""
    text = ". ".join(filter(None, [study.brief_title or study.official_title,
                                   ", ".join(study.conditions), study.brief_summary]))
    if abbreviations is None:
        return text
    own = {short: long_form for part in (study.brief_title, study.official_title, study.brief_summary,
                                         study.detailed_description) if part
           for short, long_form in mine_pairs(part)}
    known = {short: forms[0] for short, forms in abbreviations.items() if len(forms) == 1}
    return spelled_out(text, {**known, **own})


def spelled_out(text: str, long_forms: Mapping[str, str]) -> str:
    """`text` with each short form of `long_forms` it uses followed, once, by its long form in
    parentheses ("PRP" -> "PRP (platelet-rich plasma)"), unless the text spells it out already."""
    lowered = text.lower()
    for match in list(_SHORT_FORM.finditer(text))[::-1]:  # from the end: offsets stay valid
        short = match.group()
        long_form = long_forms.get(short) or long_forms.get(short.rstrip("s"))
        if not long_form or long_form.lower() in lowered or text.find(short) != match.start():
            continue  # unknown, already spelled out, or not its first use
        text = f"{text[:match.end()]} ({long_form}){text[match.end():]}"
    return text


def text_hash(text: str) -> bytes:
    """A 16-byte digest of a study's vector text: equal digests, same vector."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def index_stamp(root: Path) -> tuple | None:
    """Changes whenever a build switches generations or an update commits: the CURRENT
    pointer's contents and the live generation's Whoosh generation number."""
    try:
        name = (root / CURRENT_FILE).read_text(encoding="utf-8").strip()
        return name, open_generation(root / name).latest_generation()
    except (OSError, IndexUnreadableError):  # no index, or none readable now: nothing to fill
        return None


@contextlib.contextmanager
def filler_lock(root: Path) -> Iterator[bool]:
    """Hold the index's vectors lock if no other process does; yields whether it got it."""
    try:
        handle = open(root / VECTORS_LOCK, "a+b", buffering=0)  # noqa: SIM115 - closed below
    except OSError as exc:
        raise IndexWriteError(f"could not write the index at {root}: {exc.strerror or exc}") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
