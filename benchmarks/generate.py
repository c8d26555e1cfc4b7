"""Scaled benchmark corpora generated from the real records in `../shared/data`.

The real records are read with our own readers and summarised as a `CorpusModel`: how often
each field is present, its length in words, its vocabulary (a word-bigram chain per prose
field, so phrases such as "stem cells" keep occurring), the real values of the list fields
(conditions, interventions, sponsors) and the enum mix (status, type, phase). New studies are
drawn from that model with a fixed seed and written as ClinicalTrials.gov API v2 JSON Lines,
which `indexer.readers` read like any real download.

Corpora are written in shards of `SHARD_SIZE` studies and shard *k* depends only on the seed
and *k*, so the 10k corpus is the first shard of the 100k one, which is a prefix of the 500k
one: each shard is generated once and cached under `benchmarks/.cache/corpus/`.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from indexer.model import Study
from indexer.readers import read_sources

SHARD_SIZE = 10_000
DEFAULT_SEED = 20261125
# Synthetic IDs live in a block no real study uses yet (the registry is at NCT07...).
NCT_BASE = 80_000_000
# Each emitted word is, with this probability, a new word (a drug code or a variant
# spelling) instead of a chain step: the vocabulary then keeps growing with the corpus the
# way a registry's does (Heaps' law) rather than stopping at the ~40k words of the sample.
NEW_WORD_RATE = 0.002

# Formats whose records can hold a field. The TSV export has no summaries, descriptions,
# eligibility or keywords, so it would make those fields look absent in ~90% of studies;
# their presence and length are taken from the formats that carry them.
FULL_FORMATS = frozenset({"api_v2", "api_v1", "xml", "text", "trec"})
PROSE_FIELDS = {
    # Study field -> bigram chain it is drawn from.
    "brief_title": "title",
    "official_title": "title",
    "brief_summary": "summary",
    "detailed_description": "description",
    "eligibility_criteria": "eligibility",
}
LIST_FIELDS = ("conditions", "keywords", "interventions", "collaborators", "locations")
ONLY_IN_FULL = frozenset({"official_title", "brief_summary", "detailed_description",
                          "eligibility_criteria", "keywords"})
_WORD_RE = re.compile(r"[a-z]{4,}")


@dataclass
class FieldShape:
    """How often a field is present and, when present, the sizes it takes (words or items)."""

    present: float = 0.0
    sizes: list[int] = field(default_factory=list)


@dataclass
class CorpusModel:
    """Everything the generator draws from, learned from real records (see `fit`)."""

    shapes: dict[str, FieldShape]
    chains: dict[str, dict[str, list[str]]]  # chain name -> word -> followers (with repeats)
    starts: dict[str, list[str]]  # chain name -> words that begin a field
    values: dict[str, list[str]]  # list field or "sponsor" -> real values (with repeats)
    statuses: list[str]
    study_types: list[str]
    phases: list[list[str]]
    words: list[str]  # real lowercase words, to derive new ones from
    source_count: int = 0


def fit(paths: Iterable[str | os.PathLike]) -> CorpusModel:
    """Learn a `CorpusModel` from the study records under `paths` (any format we read)."""
    studies = sorted((s for s in read_sources(paths) if isinstance(s, Study)),
                     key=lambda s: s.nct_id)  # sorted: the model must not depend on file order
    if not studies:
        raise ValueError(f"no study records under {', '.join(map(str, paths))}")
    full = [s for s in studies if s.source_format in FULL_FORMATS]
    # Most of the sample (3,548 of 3,991) is one COVID-19 search export; left at that weight
    # it would put "covid" in nearly every title. Thin the export to as many studies as the
    # full-format records so both kinds of source weigh the same.
    export = [s for s in studies if s.source_format not in FULL_FORMATS]
    step = max(1, len(export) // max(1, len(full)))
    studies = full + export[::step]
    shapes: dict[str, FieldShape] = {}
    for name in [*PROSE_FIELDS, "acronym", *LIST_FIELDS]:
        pool = full if name in ONLY_IN_FULL else studies
        sizes = [_size(getattr(s, name)) for s in pool]
        present = [n for n in sizes if n]
        shapes[name] = FieldShape(present=len(present) / len(pool), sizes=present or [1])
    chains: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    starts: dict[str, list[str]] = defaultdict(list)
    for study in studies:
        for name, chain in PROSE_FIELDS.items():
            tokens = getattr(study, name).split()
            if not tokens:
                continue
            starts[chain].append(tokens[0])
            for left, right in zip(tokens, tokens[1:]):
                chains[chain][left].append(right)
    values = {name: [v for s in studies for v in getattr(s, name)] for name in LIST_FIELDS}
    values["sponsor"] = [s.sponsor for s in studies if s.sponsor]
    values["acronym"] = [s.acronym for s in studies if s.acronym]
    words = sorted({w for s in full for w in _WORD_RE.findall(s.brief_summary.lower())})
    return CorpusModel(
        shapes=shapes,
        chains={k: dict(v) for k, v in chains.items()},
        starts=dict(starts),
        values=values,
        statuses=[s.status for s in studies if s.status],
        study_types=[s.study_type for s in studies if s.study_type],
        phases=[s.phases for s in studies],
        words=words,
        source_count=len(studies),
    )


def _size(value) -> int:
    return len(value) if isinstance(value, list) else len(value.split())


class Generator:
    """Draws synthetic studies from a `CorpusModel`; `shard(k)` is deterministic."""

    def __init__(self, model: CorpusModel, seed: int = DEFAULT_SEED):
        self.model = model
        self.seed = seed

    def shard(self, index: int, size: int = SHARD_SIZE, variant: int = 0) -> Iterator[dict]:
        """API v2 study objects `index * size ... (index + 1) * size - 1`.

        `variant` > 0 draws different content for the same NCT IDs (used for upserts).
        """
        rng = random.Random(f"{self.seed}:{index}:{variant}")
        for offset in range(size):
            yield self.study(rng, index * size + offset)

    def study(self, rng: random.Random, number: int) -> dict:
        """One API v2 study object with NCT ID `NCT{NCT_BASE + number}`."""
        m = self.model
        first_posted = date(2000, 1, 1) + timedelta(days=rng.randrange(9500))
        updated = first_posted + timedelta(days=rng.randrange(1500))
        interventions = []
        for label in self._items(rng, "interventions"):
            kind, _, name = label.partition(": ")
            interventions.append({"type": kind.upper().replace(" ", "_") if name else "OTHER",
                                  "name": name or label})
        section = {
            "identificationModule": {
                "nctId": f"NCT{NCT_BASE + number:08d}",
                "briefTitle": self._prose(rng, "brief_title", required=True),
                "officialTitle": self._prose(rng, "official_title"),
                "acronym": rng.choice(m.values["acronym"])
                if rng.random() < m.shapes["acronym"].present else "",
            },
            "statusModule": {
                "overallStatus": rng.choice(m.statuses),
                "studyFirstPostDateStruct": {"date": first_posted.isoformat()},
                "lastUpdatePostDateStruct": {"date": updated.isoformat()},
            },
            "sponsorCollaboratorsModule": {
                "leadSponsor": {"name": rng.choice(m.values["sponsor"])},
                "collaborators": [{"name": n} for n in self._items(rng, "collaborators")],
            },
            "descriptionModule": {
                "briefSummary": self._prose(rng, "brief_summary"),
                "detailedDescription": self._prose(rng, "detailed_description"),
            },
            "conditionsModule": {
                "conditions": self._items(rng, "conditions"),
                "keywords": self._items(rng, "keywords"),
            },
            "designModule": {
                "studyType": rng.choice(m.study_types),
                "phases": rng.choice(m.phases),
                "enrollmentInfo": {"count": int(rng.lognormvariate(4.0, 1.2))},
            },
            "armsInterventionsModule": {"interventions": interventions},
            "eligibilityModule": {"eligibilityCriteria": self._prose(rng, "eligibility_criteria")},
            "contactsLocationsModule": {
                "locations": [{"facility": loc} for loc in self._items(rng, "locations")],
            },
        }
        return {"protocolSection": section}

    def _items(self, rng: random.Random, name: str) -> list[str]:
        shape = self.model.shapes[name]
        if rng.random() >= shape.present:
            return []
        pool = self.model.values[name]
        return [rng.choice(pool) for _ in range(rng.choice(shape.sizes))] if pool else []

    def _prose(self, rng: random.Random, name: str, required: bool = False) -> str:
        shape = self.model.shapes[name]
        if not required and rng.random() >= shape.present:
            return ""
        chain_name = PROSE_FIELDS[name]
        chain, starts = self.model.chains[chain_name], self.model.starts[chain_name]
        length = rng.choice(shape.sizes)
        word = rng.choice(starts)
        out = [word]
        random_ = rng.random
        while len(out) < length:
            followers = chain.get(word)
            if not followers:
                word = starts[int(random_() * len(starts))]
            else:
                word = followers[int(random_() * len(followers))]
            out.append(self._new_word(rng) if random_() < NEW_WORD_RATE else word)
        return " ".join(out)

    def _new_word(self, rng: random.Random) -> str:
        base = rng.choice(self.model.words)
        if rng.random() < 0.5:  # a drug or compound code: "ABX-4821"
            return f"{base[:3].upper()}-{rng.randrange(10, 100_000)}"
        cut = rng.randrange(3, len(base) + 1)  # a variant spelling: stem plus a new ending
        return base[:cut] + rng.choice(self.model.words)[-rng.randrange(2, 5):]


def corpus_files(model_sources: Iterable[str | os.PathLike], scale: int, cache: Path,
                 seed: int = DEFAULT_SEED) -> list[Path]:
    """The shard files that make up the first `scale` studies, generating missing ones.

    `scale` must be a multiple of SHARD_SIZE (or smaller than it, for tests).
    """
    size = min(scale, SHARD_SIZE)
    if scale % size:
        raise ValueError(f"scale must be a multiple of {SHARD_SIZE}, got {scale}")
    folder = cache / f"corpus-{seed}-{size}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"shard-{k:04d}.jsonl" for k in range(scale // size)]
    missing = [(k, p) for k, p in enumerate(paths) if not p.exists()]
    if missing:
        generator = Generator(fit(model_sources), seed)
        for k, path in missing:
            write_jsonl(generator.shard(k, size), path)
    return paths


def update_file(model_sources: Iterable[str | os.PathLike], count: int, cache: Path,
                seed: int = DEFAULT_SEED) -> Path:
    """`count` studies that replace the first `count` IDs of the corpus with new content."""
    path = cache / f"update-{seed}-{count}.jsonl"
    if not path.exists():
        write_jsonl(Generator(fit(model_sources), seed).shard(0, count, variant=1), path)
    return path


def write_jsonl(records: Iterable[dict], path: Path) -> None:
    """Write records as JSON Lines atomically (a killed run leaves no half shard behind)."""
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            handle.write("\n")
    os.replace(temp, path)


def field_mix(studies: Iterable[Study]) -> dict[str, float]:
    """Share of studies with each prose/list field present (for checking realism)."""
    counts: Counter = Counter()
    total = 0
    for study in studies:
        total += 1
        for name in [*PROSE_FIELDS, *LIST_FIELDS, "sponsor"]:
            counts[name] += bool(getattr(study, name))
    return {name: counts[name] / total for name in counts} if total else {}
