"""The fusion study (`trialsearch eval --fusion-study`): cross-validation chooses each fold's
scheme on the other folds' topics only, and the command prints the comparison docs/evaluation.md
keeps, run on a real index with study vectors (`vector_index`, conftest)."""

from __future__ import annotations

import random
import re

import pytest
from click.testing import CliRunner
from test_eval_live import files  # noqa: F401  (the topics, qrels and id2queries fixture)

from indexer.cli import main
from indexer.evaluation.fusion_study import FOLDS, SEED, TODAY, cross_validate, schemes
from indexer.search.fusion import HYBRID, Scheme

TOPICS = [f"t{i}" for i in range(10)]


def test_cross_validation_scores_each_fold_with_the_scheme_best_on_the_others():
    steady = Scheme("rrf", k=60)
    # Scores 1.0 on two topics and nothing elsewhere: best on average over all ten topics (0.2
    # against 0.15), so chosen on every fold that trains on both, where it scores 0 held out.
    lucky = Scheme("convex", alpha=0.5)
    per_scheme = {steady: dict.fromkeys(TOPICS, 0.15),
                  lucky: {t: 1.0 if t in ("t0", "t1") else 0.0 for t in TOPICS}}
    score, chosen = cross_validate(per_scheme)

    order = sorted(TOPICS)
    random.Random(SEED).shuffle(order)
    folds = [order[i::FOLDS] for i in range(FOLDS)]
    expected, expected_chosen = [], []
    for part in folds:
        train = [t for t in TOPICS if t not in part]
        best = max(per_scheme, key=lambda s: sum(per_scheme[s][t] for t in train))
        expected_chosen.append(best)
        expected += [per_scheme[best][t] for t in part]
    assert chosen == expected_chosen
    assert score == pytest.approx(sum(expected) / len(expected))
    # Cross-validation reports less than the in-sample best (0.2): luck does not carry over.
    assert score < 0.2


def test_the_grid_holds_every_family_and_floor_and_the_live_scheme_is_compared():
    grid = schemes()
    assert {s.kind for s in grid} == {"rrf", "convex", "tiered"}
    assert any(s.drop is not None and s.gate is not None for s in grid)
    assert any(s.floor == 0.3 for s in grid)
    assert TODAY in grid
    assert HYBRID.kind in {s.kind for s in grid}


def test_the_command_needs_short_queries(built_index, files):  # noqa: F811
    result = CliRunner().invoke(main, ["eval", "--topics", files["topics"], "--qrels", files["qrels"],
                                       "--index", str(built_index), "--fusion-study"])
    assert result.exit_code == 2
    assert "--fusion-study compares long and short queries: give --short too" in result.output


def test_the_command_says_why_without_vectors(built_index, files):  # noqa: F811
    result = CliRunner().invoke(main, ["eval", "--topics", files["topics"], "--qrels", files["qrels"],
                                       "--short", files["short"], "--index", str(built_index),
                                       "--fusion-study"])
    assert result.exit_code == 2
    assert "the fusion study compares words with meaning" in result.output
    assert "trialsearch vectors" in result.output


@pytest.mark.slow
def test_the_command_prints_the_comparison(vector_index, files):  # noqa: F811
    result = CliRunner().invoke(main, ["eval", "--topics", files["topics"], "--qrels", files["qrels"],
                                       "--short", files["short"], "--index", str(vector_index),
                                       "--fusion-study"])
    assert result.exit_code == 0, result.output
    rows = {}  # each setting's first row: the cross-validated scores (the folds' choices follow)
    for line in result.output.splitlines():
        rows.setdefault(line.split(" | ")[0].strip("| "), line)
    for setting in ("long, whole index", "long, judged pool", "short, whole index", "short, judged pool"):
        cells = rows[setting].strip("| ").split(" | ")[1:]
        assert len(cells) == 6  # rrf, convex, tiered, any (CV), before, live
        assert all(0.0 <= float(cell) <= 1.0 for cell in cells)
    assert "live (HYBRID)" in result.output
    # The second table ranks schemes by their mean over the four settings, best first.
    means = [float(m) for m in re.findall(r"\| (\d\.\d{4}) \|$", result.output, re.MULTILINE)]
    overall = means[4:]  # after the first table's four rows (the folds' table has no numbers)
    assert overall == sorted(overall, reverse=True) and overall
