"""The benchmark suite: the corpus generator's determinism and realism (sites, eligibility),
the location and eligibility filter cases, and `--quick` end to end (a fresh 10k build per
engine, the query mix, the regression check against benchmarks/baseline.json)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections import Counter
from urllib.parse import urlencode

import pytest
from conftest import PROJECT_ROOT

from benchmarks import peers
from benchmarks.generate import (
    FORMAT_VERSION,
    Generator,
    corpus_files,
    field_mix,
    fit,
    update_file,
    write_jsonl,
)
from benchmarks.measure import Settings, build, latency, update
from benchmarks.queries import FILTER_CASES, MIX, PER_PAGE
from benchmarks.report import ENGINE_ORDER, filter_summary, filter_table
from indexer.model import Study
from indexer.readers import read_sources

pytestmark = [pytest.mark.benchmark, pytest.mark.slow]

QUICK_TIMEOUT = 900  # seconds; the quick mode takes about 2 minutes on 2 idle cores


@pytest.fixture(scope="module")
def model(shared_data):
    """The corpus model learned from ../shared/data."""
    return fit([shared_data])


def test_generator_is_deterministic_and_ids_are_unique(model):
    first = list(Generator(model, seed=1).shard(0, size=50))
    assert first == list(Generator(model, seed=1).shard(0, size=50))
    assert first != list(Generator(model, seed=2).shard(0, size=50))
    second = list(Generator(model, seed=1).shard(1, size=50))
    ids = [r["protocolSection"]["identificationModule"]["nctId"] for r in first + second]
    assert len(set(ids)) == 100
    # Upsert variants keep the IDs and change the content.
    variant = list(Generator(model, seed=1).shard(0, size=50, variant=1))
    assert [r["protocolSection"]["identificationModule"]["nctId"] for r in variant] == ids[:50]
    assert variant != first


def test_generated_studies_read_back_with_a_realistic_field_mix(model, shared_data, tmp_path):
    path = tmp_path / "corpus.jsonl"
    write_jsonl(Generator(model).shard(0, size=600), path)
    items = list(read_sources([path]))
    assert all(isinstance(item, Study) for item in items) and len(items) == 600
    mix = field_mix(items)
    for name in ("brief_summary", "detailed_description", "eligibility_criteria", "keywords",
                 "interventions", "collaborators"):
        assert mix[name] == pytest.approx(model.shapes[name].present, abs=0.08), name
    # Lengths follow the real records: mean summary and eligibility within 25%.
    real = [s for s in read_sources([shared_data]) if isinstance(s, Study)
            and s.source_format != "tsv"]
    for name in ("brief_summary", "eligibility_criteria"):
        generated_mean = statistics.mean(len(getattr(s, name).split()) for s in items if getattr(s, name))
        real_mean = statistics.mean(len(getattr(s, name).split()) for s in real if getattr(s, name))
        assert generated_mean == pytest.approx(real_mean, rel=0.25), name
    assert {s.status for s in items} >= {"RECRUITING", "COMPLETED"}


def test_generated_studies_have_real_sites_and_eligibility(model, tmp_path):
    path = tmp_path / "corpus.jsonl"
    write_jsonl(Generator(model).shard(0, size=600), path)
    items = list(read_sources([path]))
    # As many studies list sites as real ones do; nearly every site has coordinates (real
    # API v2 ones, or the city's from GeoNames), a city and a country.
    with_sites = [s for s in items if s.sites]
    assert len(with_sites) / len(items) == pytest.approx(model.shapes["sites"].present, abs=0.08)
    sites = [site for s in items for site in s.sites]
    assert statistics.mean(len(s.sites) for s in with_sites) > 1.5
    assert sum(site.has_coordinates for site in sites) / len(sites) > 0.85
    assert all(site.city or site.facility for site in sites)
    assert sum(bool(site.country) for site in sites) / len(sites) > 0.95
    assert all(-90 <= site.lat <= 90 and -180 <= site.lon <= 180 for site in sites if site.has_coordinates)
    # Site statuses agree with the study's: a recruiting study's sites mostly recruit, a
    # completed one's have no status of their own (or COMPLETED).
    recruiting = Counter(site.status for s in items if s.status == "RECRUITING" for site in s.sites)
    assert recruiting["RECRUITING"] / sum(recruiting.values()) > 0.7
    assert set(recruiting) - {"RECRUITING"}, "some sites of recruiting studies do not recruit"
    assert {site.status for s in items if s.status == "COMPLETED" for site in s.sites} <= {"", "COMPLETED"}
    # Eligibility limits and flags as real records have them.
    assert sum(s.minimum_age_years is not None for s in items) / len(items) > 0.7
    assert any(s.maximum_age_years is not None for s in items)
    assert any(s.minimum_age_years is not None and s.minimum_age_years < 18 for s in items)
    assert {s.sex for s in items} >= {"ALL", "FEMALE", "MALE"}
    assert {g for s in items for g in s.std_ages} == {"CHILD", "ADULT", "OLDER_ADULT"}
    assert {s.healthy_volunteers for s in items} >= {True, False}
    assert {s.has_results for s in items} == {True, False}
    assert not any(s.has_results for s in items if s.status == "RECRUITING")
    assert {s.funder_type for s in items} >= {"INDUSTRY", "OTHER"}


def test_cache_folder_names_the_format_version(shared_data, tmp_path):
    """Caches written by older generators (studies without sites) are not reused."""
    (path,) = corpus_files([shared_data], 20, tmp_path)
    assert path.parent.name == f"corpus-v{FORMAT_VERSION}-20261125-20" and FORMAT_VERSION >= 2
    assert update_file([shared_data], 5, tmp_path).name.startswith(f"update-v{FORMAT_VERSION}-")


@pytest.fixture(scope="module")
def filter_index(shared_data, tmp_path_factory):
    """trialsearch's index of the first 1,000 generated studies."""
    cache = tmp_path_factory.mktemp("bench")
    files = corpus_files([shared_data], 1000, cache)
    index_dir, cost = build("whoosh", files, 1000, Settings(cache=cache))
    assert cost["docs"] == 1000
    return index_dir


def test_filter_cases_find_studies_and_only_trialsearch_runs_them(filter_index, tmp_path):
    assert all(case.app_only for case in FILTER_CASES) and not any(case.app_only for case in MIX)
    assert [name for name in ENGINE_ORDER if any(peers.answers(name, c) for c in FILTER_CASES)] == ["whoosh"]
    session = peers.load("whoosh").Engine().open(filter_index)
    try:
        for case in FILTER_CASES:
            total, ids = session.run(case)
            assert total > 0 and ids, case.describe()
            params = case.http_params()
            assert set(case.filters) <= set(params) and ("sort", case.sort) in params + [("sort", "relevance")]
            if case.sort == "distance":
                found = session.index.search(case.app_text(), filters=case.app_filters(),
                                             sort="distance", per_page=PER_PAGE)
                km = [hit.nearest_site["distance_km"] for hit in found.hits]
                radius = float(case.app_filters().get("radius", ["50"])[0])
                assert km == sorted(km) and km[-1] <= radius, case.describe()
    finally:
        session.close()
    # The latency measure keeps the filter cases apart from the mix, and the report sets them
    # side by side.
    lat = latency({"whoosh": filter_index}, Settings(cache=tmp_path, rounds=1))["whoosh"]
    assert len(lat["per_query"]) == len(MIX) and lat["n"] == len(MIX)
    assert [q["total"] > 0 for q in lat["filters"]["per_query"]] == [True] * len(FILTER_CASES)
    result = {"scale": 1000, "engines": {"whoosh": {"latency": lat}}}
    summary = filter_summary(result)
    assert summary["mix"]["p95_ms"] == lat["p95_ms"] and summary["filters"]["p95_ms"] == lat["filters"]["p95_ms"]
    assert "location and eligibility filters (6 queries)" in filter_table(result)


def test_filter_cases_translate_to_the_http_api(filter_index):
    from webapp import create_app

    client = create_app(index_path=filter_index).test_client()
    session = peers.load("whoosh").Engine().open(filter_index)
    try:
        for case in FILTER_CASES:
            response = client.get("/api/search?" + urlencode(case.http_params()))
            assert response.status_code == 200, (case.describe(), response.get_data(as_text=True)[:500])
            body = response.get_json()
            total, ids = session.run(case)
            assert body["total"] == total, case.describe()
            assert [hit["nct_id"] for hit in body["results"]] == ids, case.describe()
    finally:
        session.close()


@pytest.mark.timeout(QUICK_TIMEOUT + 60)
def test_quick_mode_passes_and_writes_the_table(shared_data, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=QUICK_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    table = (tmp_path / "results.md").read_text()
    assert "| 10,000 studies |" in table and "query p95 (ms)" in table
    assert "SQLite FTS5" in table
    (result,) = json.loads((tmp_path / "results.json").read_text())
    assert result["engines"]["whoosh"]["build"]["docs"] == 10_000
    assert result["engines"]["fts5"]["latency"]["p95_ms"] > 0


def test_update_is_measured_through_a_session_left_open(shared_data, tmp_path):
    """Each engine upserts into its built index while a session stays open, then that session
    runs the query mix once more: the first run after an update, as a server meets it."""
    files = corpus_files([shared_data], 300, tmp_path)
    changes = update_file([shared_data], 40, tmp_path)
    for name in ENGINE_ORDER:
        if peers.load(name).available():
            continue
        index_dir, cost = build(name, files, 300, Settings(cache=tmp_path))
        assert cost["docs"] == 300, name
        updated = update(name, index_dir, changes)
        assert updated["docs"] == 40 and updated["seconds"] > 0, name
        assert updated["after"]["n"] == len(MIX) and updated["after"]["p95_ms"] > 0, name
