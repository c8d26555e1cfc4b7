"""Which fusion of words and meaning to run: every scheme of `indexer.search.fusion`, scored on
the TREC topics by nDCG@10 and chosen by cross-validation, so a choice is judged on topics it
was not chosen on (the held-out topics the service is also measured on are not here).

Each topic's candidates are gathered once through the live search (`SearchIndex.candidates`:
the words side with its scores and concept coverage, the meaning side, every candidate's
similarity), then fused by each scheme offline. Short queries are the typed ones (AND,
loosened as the search box does); long ones the description's key terms OR-ed, with the whole
description for the meaning side. Both on the whole index (scored against the judgments of
the trials the index holds) and in the judged pool (each topic's judged trials only).

    study = fusion_study(index, topics, qrels, short_queries)
    print(study.markdown())
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..search import SearchIndex, SearchRequest
from ..search.fusion import HYBRID, Candidates, Scheme, fuse
from .measures import require_ir_measures
from .queries import fit_query, key_terms
from .topics import ELIGIBLE

FOLDS = 5
SEED = 2026  # the folds are a fixed shuffle of the topics: the same table on every run
ALPHAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
NORMS = ("minmax", "zscore", "arctan")
VETOES = (None, 0.1, 0.2, 0.3)
# The meaning side's floors: none, today's fixed ones, and ones that follow the query's own best
# similarity (candidates more than `drop` below it are left out, all when it is under `gate`).
FLOORS = ({}, {"floor": 0.2}, {"floor": 0.3}, {"drop": 0.25, "gate": 0.35}, {"drop": 0.35, "gate": 0.35},
          {"floor": 0.2, "drop": 0.35, "gate": 0.35})
TODAY = Scheme("rrf", k=60, floor=0.3, label="today")  # the fusion live hybrid ran before


def schemes() -> list[Scheme]:
    """Every scheme compared: RRF with k swept, convex combinations of normalised scores, and
    tiers with and without the meaning veto, each with every floor."""
    rrf = [Scheme("rrf", k=k, **floor) for k in (5, 10, 20, 40, 60, 100) for floor in FLOORS]
    convex = [Scheme("convex", norm=norm, alpha=alpha, **floor)
              for norm, alpha, floor in itertools.product(NORMS, ALPHAS, FLOORS)]
    tiered = [Scheme("tiered", norm=norm, alpha=alpha, veto=veto, **floor)
              for norm, alpha, veto, floor in itertools.product(NORMS, ALPHAS, VETOES, FLOORS)]
    return rrf + convex + tiered


@dataclass
class Setting:
    """One query kind in one scoring setting: its topics' candidates and judgments."""

    name: str  # "short, whole index" ...
    candidates: dict[str, tuple[Candidates, list[str | None]]]
    qrels: dict[str, dict[str, int]]


@dataclass
class Outcome:
    """A scheme family's cross-validated nDCG@10 in one setting, and what each fold chose."""

    family: str
    score: float
    chosen: list[Scheme] = field(default_factory=list)


def gather(index: SearchIndex, queries: dict[str, SearchRequest], qrels: dict[str, dict[str, int]],
           *, pool: bool, name: str) -> Setting:
    """Each topic's candidates for its request (in the judged pool: its judged trials only)."""
    found = {}
    for topic, request in queries.items():
        if pool:
            request = request.replace(only=frozenset(qrels[topic]))
        candidates = index.candidates(request)
        if candidates is not None:
            found[topic] = candidates
    return Setting(name, found, {topic: qrels[topic] for topic in found})


def ndcg_per_topic(setting: Setting, scheme: Scheme) -> dict[str, float]:
    """nDCG@10 (graded gains, as the TREC CT overviews) of `scheme` on each topic."""
    ir_measures = require_ir_measures()
    run = {}
    for topic, (candidates, nct_of) in setting.candidates.items():
        docs, _ = fuse(candidates, scheme)
        ids = [nct_of[d] for d in docs.tolist() if nct_of[d] is not None]
        run[topic] = {nct_id: float(len(ids) - rank) for rank, nct_id in enumerate(ids)}
    scores = dict.fromkeys(setting.candidates, 0.0)
    measure = ir_measures.parse_measure("nDCG@10")
    for metric in ir_measures.iter_calc([measure], setting.qrels, {t: r for t, r in run.items() if r}):
        scores[metric.query_id] = metric.value
    return scores


def cross_validate(per_scheme: dict[Scheme, dict[str, float]], *, folds: int = FOLDS,
                   seed: int = SEED) -> tuple[float, list[Scheme]]:
    """The mean nDCG@10 on held-out topics when each fold's scheme is the one best on the
    other folds' topics (ties to the earlier scheme), and the schemes chosen."""
    topics = sorted(next(iter(per_scheme.values())))
    random.Random(seed).shuffle(topics)
    parts = [topics[i::folds] for i in range(folds)]
    held_out, chosen = [], []
    for part in parts:
        train = [t for t in topics if t not in set(part)]
        best = max(per_scheme, key=lambda s: sum(per_scheme[s][t] for t in train))
        chosen.append(best)
        held_out += [per_scheme[best][t] for t in part]
    return sum(held_out) / len(held_out), chosen


def compare(setting: Setting, candidates: Iterable[Scheme]
            ) -> tuple[dict[Scheme, dict[str, float]], list[Outcome]]:
    """Every scheme's per-topic nDCG@10 in `setting`, and each family's cross-validated score."""
    per_scheme = {scheme: ndcg_per_topic(setting, scheme) for scheme in candidates}
    outcomes = []
    for family in ("rrf", "convex", "tiered"):
        members = {s: v for s, v in per_scheme.items() if s.kind == family}
        score, chosen = cross_validate(members)
        outcomes.append(Outcome(family, score, chosen))
    score, chosen = cross_validate(per_scheme)
    outcomes.append(Outcome("any", score, chosen))
    return per_scheme, outcomes


@dataclass
class FusionStudy:
    """The comparison over every setting: per-setting outcomes and the fixed reference schemes'
    mean nDCG@10 (today's RRF k 60 with the 0.3 floor among them)."""

    settings: list[str]
    outcomes: dict[str, list[Outcome]]
    means: dict[str, dict[Scheme, float]]

    def overall(self) -> list[tuple[Scheme, float]]:
        """Each scheme's nDCG@10 averaged over the settings, best first."""
        schemes_ = next(iter(self.means.values()))
        average = {s: sum(self.means[name][s] for name in self.settings) / len(self.settings)
                   for s in schemes_}
        return sorted(average.items(), key=lambda item: -item[1])

    def markdown(self, top: int = 8) -> str:
        """The comparison as Markdown tables: cross-validated family scores per setting, what
        the folds chose, then the schemes best on average over the settings."""
        lines = ["| setting | " + " | ".join(f"{f} (CV)" for f in ("rrf", "convex", "tiered", "any"))
                 + " | RRF k=60 floor 0.3 (before) | live (HYBRID) |",
                 "| --- |" + " ---: |" * 6]
        for name in self.settings:
            scores = {o.family: o.score for o in self.outcomes[name]}
            cells = [f"{scores[family]:.4f}" for family in ("rrf", "convex", "tiered", "any")]
            cells += [f"{self.means[name][TODAY]:.4f}", f"{self.means[name][HYBRID]:.4f}"]
            lines.append(f"| {name} | {' | '.join(cells)} |")
        lines += ["", "| setting | the five folds' choices (any family) |", "| --- | --- |"]
        for name in self.settings:
            chosen = next(o.chosen for o in self.outcomes[name] if o.family == "any")
            counts = Counter(s.describe() for s in chosen)
            lines.append(f"| {name} | " + "; ".join(f"{c}× {d}" for d, c in counts.most_common()) + " |")
        lines += ["", "| scheme | " + " | ".join(self.settings) + " | mean |",
                  "| --- |" + " ---: |" * (len(self.settings) + 1)]
        for scheme, mean in self.overall()[:top]:
            lines.append(f"| {scheme.describe()} | "
                         + " | ".join(f"{self.means[name][scheme]:.4f}" for name in self.settings)
                         + f" | {mean:.4f} |")
        return "\n".join(lines)


def fusion_study(index: SearchIndex, topics: dict[str, str], qrels: dict[str, dict[str, int]],
                 short_queries: dict[str, str], *, available: set[str],
                 candidates: Iterable[Scheme] | None = None) -> FusionStudy:
    """Compare the fusion schemes on `topics` (long: their descriptions) and `short_queries`,
    on the whole index and in the judged pool, over the topics with an eligible trial in the
    index (`available`: the NCT IDs it holds)."""
    candidates = list(dict.fromkeys([*(candidates or schemes()), TODAY, HYBRID]))
    judged = {t: {n: g for n, g in qrels[t].items() if n in available} for t in topics if t in qrels}
    scored = [t for t, grades in judged.items() if ELIGIBLE in grades.values()]
    long_queries = {}
    for topic in scored:
        key_query = fit_query(key_terms(topics[topic], index), index)
        if key_query.words:
            long_queries[topic] = SearchRequest(q=key_query.text(), operator="or", meaning=topics[topic],
                                                per_page=10, facets=False, highlights=False)
    typed = {t: SearchRequest(q=short_queries[t], per_page=10, facets=False, highlights=False)
             for t in scored if t in short_queries}
    settings = [gather(index, queries, judged, pool=pool, name=f"{kind}, {where}")
                for kind, queries in (("long", long_queries), ("short", typed))
                for pool, where in ((False, "whole index"), (True, "judged pool"))]
    outcomes, means = {}, {}
    for setting in settings:
        per_scheme, outcomes[setting.name] = compare(setting, candidates)
        means[setting.name] = {s: sum(v.values()) / max(len(v), 1) for s, v in per_scheme.items()}
    return FusionStudy([s.name for s in settings], outcomes, means)
