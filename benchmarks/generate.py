"""Scaled benchmark corpora generated from the real records in `../shared/data`.

The real records are read with our own readers and summarised as a `CorpusModel`: how often
each field is present, its length in words, its vocabulary (a word-bigram chain per prose
field, so phrases such as "stem cells" keep occurring), the real values of the list fields
(conditions, interventions, sponsors with their funder class) and the enum mix (status, type,
phase). Sites and eligibility are real too: each study gets as many sites as a real study has
(drawn from the real counts), each one a real site (facility, city, state, zip, country and
coordinates, placed by city with `indexer.gazetteer.place_sites` where the record gives none),
mostly in the country of its first site as real multi-site studies are, with a site status
drawn from what real sites say in studies of the same overall status (a recruiting study's
sites mostly RECRUITING, a completed study's without a status); the eligibility limits (sex,
minimum/maximum age, age groups, healthy volunteers) are one real record's, and `hasResults` is
drawn from real records of the same status. New studies are drawn from that model with a fixed
seed and written as ClinicalTrials.gov API v2 JSON Lines, which `indexer.readers` read like any
real download.

Corpora are written in shards of `SHARD_SIZE` studies and shard *k* depends only on the seed
and *k*, so the 10k corpus is the first shard of the 100k one, which is a prefix of the 500k
one: each shard is generated once and cached under `benchmarks/.cache/corpus-v{FORMAT_VERSION}-
{seed}-{size}/`. `FORMAT_VERSION` changes whenever what a shard holds changes, so a cache
written by an older generator is never reused.
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

from indexer.gazetteer import place_sites
from indexer.model import Study
from indexer.readers import read_sources

SHARD_SIZE = 10_000
# What a shard holds; part of the cache folder's name. 2: sites (city, country, coordinates,
# status), eligibility limits, hasResults and the lead sponsor's class.
FORMAT_VERSION = 2
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
# Formats whose records list a study's sites (the TSV export names them, without statuses),
# give each site's recruitment status, carry the whole eligibility module (the TSV export has no
# healthy-volunteers column) and say whether results are posted.
SITE_FORMATS = frozenset({"api_v2", "api_v1", "xml", "tsv"})
SITE_STATUS_FORMATS = frozenset({"api_v2", "api_v1", "xml"})
ELIGIBILITY_FORMATS = frozenset({"api_v2", "api_v1", "xml"})
RESULTS_FORMATS = frozenset({"api_v2", "api_v1", "xml", "tsv"})
# A study status needs at least this many real sites (or studies, for hasResults) to have a
# distribution of its own; rarer ones fall back (sites without a status, which the index reads
# as the study's own; hasResults as in all real records).
MIN_SAMPLE = 20
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
    # Real sites as (facility, city, state, zip, country, lat, lon); lat/lon None when unknown.
    places: list[tuple] = field(default_factory=list)
    same_country: float = 0.0  # share of a real study's other sites in its first site's country
    site_statuses: dict[str, list[str]] = field(default_factory=dict)  # study status -> sites'
    # Real (sex, minimumAge, maximumAge, stdAges, healthyVolunteers); '' / () / None when absent.
    eligibility: list[tuple] = field(default_factory=list)
    has_results: dict[str, list[bool]] = field(default_factory=dict)  # status ('' = any) -> flags
    sponsors: list[tuple[str, str]] = field(default_factory=list)  # (lead sponsor, funder class)
    source_count: int = 0


def fit(paths: Iterable[str | os.PathLike]) -> CorpusModel:
    """Learn a `CorpusModel` from the study records under `paths` (any format we read)."""
    studies = sorted((s for s in read_sources(paths) if isinstance(s, Study)),
                     key=lambda s: (s.nct_id, s.source_format, s.source))  # not by file order
    if not studies:
        raise ValueError(f"no study records under {', '.join(map(str, paths))}")
    everything = studies  # every real record: places come from all of them
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
    # How many sites a study has, from the (weighted) studies of formats that list sites.
    counts = [len(s.sites) for s in studies if s.source_format in SITE_FORMATS]
    shapes["sites"] = FieldShape(present=sum(map(bool, counts)) / max(1, len(counts)),
                                 sizes=[n for n in counts if n] or [1])
    return CorpusModel(
        shapes=shapes,
        chains={k: dict(v) for k, v in chains.items()},
        starts=dict(starts),
        values=values,
        statuses=[s.status for s in studies if s.status],
        study_types=[s.study_type for s in studies if s.study_type],
        phases=[s.phases for s in studies],
        words=words,
        **_sites_and_eligibility(everything, studies),
        sponsors=[(s.sponsor, s.funder_type) for s in studies if s.sponsor],
        source_count=len(studies),
    )


def _sites_and_eligibility(everything: list[Study], studies: list[Study]) -> dict:
    """The site, eligibility and results parts of a `CorpusModel`. Places come from every real
    study (the more places, the more realistic a radius search), the rest from `studies`."""
    places = []
    same = []
    statuses: dict[str, list[str]] = defaultdict(list)
    for study in everything:
        sites = place_sites(study).sites
        places += [(s.facility, s.city, s.state, s.zip, s.country, s.lat, s.lon) for s in sites]
        if len(sites) > 1:
            same.append(sum(s.country == sites[0].country for s in sites[1:]) / (len(sites) - 1))
        if study.source_format in SITE_STATUS_FORMATS and study.status:
            statuses[study.status] += [s.status for s in sites]
    results: dict[str, list[bool]] = defaultdict(list)
    for study in studies:
        if study.source_format in RESULTS_FORMATS and study.has_results is not None:
            results[study.status].append(study.has_results)
            results[""].append(study.has_results)
    return {
        "places": places,
        "same_country": sum(same) / len(same) if same else 0.0,
        "site_statuses": {k: v for k, v in sorted(statuses.items()) if len(v) >= MIN_SAMPLE},
        "eligibility": [(s.sex, s.minimum_age, s.maximum_age, tuple(s.std_ages), s.healthy_volunteers)
                        for s in studies if s.source_format in ELIGIBILITY_FORMATS],
        "has_results": {k: v for k, v in sorted(results.items()) if len(v) >= MIN_SAMPLE or not k},
    }


def _size(value) -> int:
    return len(value) if isinstance(value, list) else len(value.split())


class Generator:
    """Draws synthetic studies from a `CorpusModel`; `shard(k)` is deterministic."""

    def __init__(self, model: CorpusModel, seed: int = DEFAULT_SEED):
        self.model = model
        self.seed = seed
        by_country: dict[str, list[tuple]] = defaultdict(list)
        for place in model.places:
            by_country[place[4]].append(place)
        self._places_in = dict(by_country)

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
        status = rng.choice(m.statuses)
        sponsor, funder_class = rng.choice(m.sponsors)
        lead = {"name": sponsor, **({"class": funder_class} if funder_class else {})}
        section = {
            "identificationModule": {
                "nctId": f"NCT{NCT_BASE + number:08d}",
                "briefTitle": self._prose(rng, "brief_title", required=True),
                "officialTitle": self._prose(rng, "official_title"),
                "acronym": rng.choice(m.values["acronym"])
                if rng.random() < m.shapes["acronym"].present else "",
            },
            "statusModule": {
                "overallStatus": status,
                "studyFirstPostDateStruct": {"date": first_posted.isoformat()},
                "lastUpdatePostDateStruct": {"date": updated.isoformat()},
            },
            "sponsorCollaboratorsModule": {
                "leadSponsor": lead,
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
            "eligibilityModule": {"eligibilityCriteria": self._prose(rng, "eligibility_criteria"),
                                  **self._eligibility(rng)},
            "contactsLocationsModule": {"locations": self._sites(rng, status)},
        }
        record = {"protocolSection": section}
        flags = m.has_results.get(status) or m.has_results.get("")
        if flags:
            record["hasResults"] = rng.choice(flags)
        return record

    def _sites(self, rng: random.Random, study_status: str) -> list[dict]:
        """Real sites, as many as a real study has: after the first, each is in the first's
        country as often as in real studies; statuses as real sites' in studies of this status."""
        m = self.model
        shape = m.shapes["sites"]
        if not m.places or rng.random() >= shape.present:
            return []
        statuses = m.site_statuses.get(study_status) or [""]
        random_ = rng.random
        first = m.places[int(random_() * len(m.places))]
        home = self._places_in[first[4]]
        out = []
        for i in range(rng.choice(shape.sizes)):
            place = first
            if i:
                pool = home if random_() < m.same_country else m.places
                place = pool[int(random_() * len(pool))]
            facility, city, state, zip_code, country, lat, lon = place
            site = {name: value for name, value in (("facility", facility), ("city", city),
                                                    ("state", state), ("zip", zip_code),
                                                    ("country", country)) if value}
            status = statuses[int(random_() * len(statuses))]
            if status:
                site["status"] = status
            if lat is not None:
                site["geoPoint"] = {"lat": lat, "lon": lon}
            out.append(site)
        return out

    def _eligibility(self, rng: random.Random) -> dict:
        """One real record's sex, age limits, age groups and healthy-volunteers answer."""
        if not self.model.eligibility:
            return {}
        sex, minimum, maximum, std_ages, healthy = rng.choice(self.model.eligibility)
        out: dict = {}
        if sex:
            out["sex"] = sex
        if minimum:
            out["minimumAge"] = minimum
        if maximum:
            out["maximumAge"] = maximum
        if std_ages:
            out["stdAges"] = list(std_ages)
        if healthy is not None:
            out["healthyVolunteers"] = healthy
        return out

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
    folder = cache / f"corpus-v{FORMAT_VERSION}-{seed}-{size}"
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
    path = cache / f"update-v{FORMAT_VERSION}-{seed}-{count}.jsonl"
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
