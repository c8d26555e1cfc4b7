"""How much of the judgments an index can speak to, and which topics are scored."""

from __future__ import annotations

from dataclasses import dataclass, field

from .topics import ELIGIBLE


@dataclass
class Coverage:
    """How much of the judgments the index can speak to, and which topics are scored."""

    judgments: int  # judgments for the topics in the topics file
    eligible: int
    judgments_available: int  # ... whose trial is in the index
    eligible_available: int
    topics: int  # in the topics file
    topics_judged: int
    topics_evaluated: list[str] = field(default_factory=list)


def coverage(topics: dict[str, str], qrels: dict[str, dict[str, int]], available: set[str],
             *, pool: bool) -> Coverage:
    """Count judgments and eligible trials, all and in the index, for the topics. Topics are
    scored when they have an eligible trial (in the index, in pool mode): without one, P, RR
    and recall are undefined."""
    judged = {topic: qrels[topic] for topic in topics if topic in qrels}
    grades = [grade for judgments in judged.values() for grade in judgments.values()]
    in_index = {topic: {n: g for n, g in judgments.items() if n in available}
                for topic, judgments in judged.items()}
    grades_in = [grade for judgments in in_index.values() for grade in judgments.values()]
    basis = in_index if pool else judged
    return Coverage(
        judgments=len(grades), eligible=grades.count(ELIGIBLE),
        judgments_available=len(grades_in), eligible_available=grades_in.count(ELIGIBLE),
        topics=len(topics), topics_judged=len(judged),
        topics_evaluated=[t for t in topics if ELIGIBLE in basis.get(t, {}).values()],
    )
