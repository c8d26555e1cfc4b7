"""Bounded requests: sizes and query cost.

* Oversized bodies get 413 before any view runs (through gunicorn too, for a body announced and
  never sent: test_security.py) and oversized parameters 400 naming the parameter, without
  echoing them.
* Query cost is bounded on an index of the whole shared corpus: leading wildcards, `*` alone,
  huge fuzzy distances, too many terms, very long queries and deep pages are each refused or
  capped with a clear message (core, CLI and API alike), and nothing takes longer than the
  time budget plus a margin.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_security import ADMIN_TOKEN, make_app

from indexer import QueryError, open_index
from indexer.search import DEFAULT_TIME_BUDGET, MAX_PER_PAGE, MAX_RESULT_WINDOW
from indexer.search.expansion import MAX_EXPANSIONS
from indexer.search.query import MAX_FUZZY_DISTANCE, MAX_QUERY_LENGTH, MAX_TERMS

TRIALSEARCH = str(Path(sys.executable).with_name("trialsearch"))
# Wall-clock allowance for one whole search (parse, expand, collect, highlight, facets): the
# collector's budget plus a margin for a loaded two-core CI machine.
WALL_BUDGET = DEFAULT_TIME_BUDGET + 3.0


@pytest.fixture(scope="module")
def app(built_index):
    """Not the conftest `app`: production-like (make_app: errors go through the handlers), with
    an admin token, so an oversized admin request meets every check a real one would."""
    return make_app(built_index, ADMIN_TOKEN=ADMIN_TOKEN)


# -- sizes -----------------------------------------------------------------------------------

def test_oversized_bodies_get_413_before_any_view_runs(app, client):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    body = b"x" * (1024 * 1024 + 1)
    for headers in ({"Authorization": f"Bearer {ADMIN_TOKEN}"}, {}):
        response = client.post("/api/admin/reindex", data=body, content_type="application/json",
                               headers=headers)
        assert response.status_code == 413, (headers, response.status_code)
        assert response.mimetype == "application/json" and response.get_json()["error"]
    # A search with a body: refused for its size (or as a method not allowed), never read.
    assert client.post("/api/search", data=body).status_code in (405, 413)
    assert client.post("/", data=body).status_code in (405, 413)


@pytest.mark.parametrize(("params", "param"), [
    ({"q": "x" * 100_000}, "q"),
    ({"q": "exosomes", "per_page": str(10**30)}, "per_page"),
    ({"q": "exosomes", "per_page": "101"}, "per_page"),
    ({"q": "exosomes", "page": str(10**30)}, "page"),
    ({"q": "exosomes", "page": "-1"}, "page"),
    ({"q": "exosomes", "per_page": "nan"}, "per_page"),
    ({"q": "exosomes", "sort": "x" * 10_000}, "sort"),
    ({"q": "exosomes", "status": "y" * 100_000}, "status"),
    ({"q": "exosomes", "field": "z" * 100_000}, "field"),
    ({"q": "exosomes", "operator": "o" * 100_000}, "operator"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_oversized_parameters_get_400_naming_the_parameter(client, params, param):
    started = time.monotonic()
    response = client.get("/api/search", query_string=params)
    assert time.monotonic() - started < WALL_BUDGET
    assert response.status_code == 400, (param, response.status_code)
    body = response.get_json()
    assert body["error"] and len(json.dumps(body)) < 1_000, "the error echoes the huge value"
    assert body["param"] == param


def test_many_repeated_parameters_are_refused(client):
    pairs = [("status", f"S{i}") for i in range(5000)] + [("q", "exosomes")]
    started = time.monotonic()
    response = client.get("/api/search", query_string=pairs)
    assert time.monotonic() - started < WALL_BUDGET
    assert response.status_code == 400 and response.get_json()["param"] == "status"


# -- query cost on the whole shared corpus ---------------------------------------------------

@pytest.fixture(scope="module")
def shared(shared_index):
    return open_index(shared_index)


def _words(count: int) -> str:
    """`count` distinct one-part words (letters only: `w0` would be two parts, `w` and `0`)."""
    letters = "bcdfghjklmnpqrstvwxz"
    return " ".join("w" + letters[n // 20] + letters[n % 20] for n in range(count))


REFUSED = [
    # (query, search options, words the message must hold, parameter)
    ("*osomes", {}, ["at least 2 letters"], "q"),
    ("?xosome", {}, ["at least 2 letters"], "q"),
    ("e*", {}, ["at least 2 letters"], "q"),
    ("title:*", {}, ["'*' alone"], "q"),
    ("*", {}, ["'*' alone"], "q"),
    (_words(MAX_TERMS + 1), {}, ["too many terms", str(MAX_TERMS)], "q"),
    ("cancer " * 5000, {}, [str(MAX_QUERY_LENGTH)], "q"),
    ("x" * (MAX_QUERY_LENGTH + 1), {}, [str(MAX_QUERY_LENGTH)], "q"),
    ("cancer", {"page": MAX_RESULT_WINDOW // 10 + 1, "per_page": 10}, [str(MAX_RESULT_WINDOW)],
     "page"),
    ("cancer", {"per_page": MAX_PER_PAGE + 1}, [str(MAX_PER_PAGE)], "per_page"),
    ("cancer", {"page": 0}, ["page"], "page"),
]

CAPPED = [
    # (query, options, notice pattern or None)
    ("co*", {}, rf"the {MAX_EXPANSIONS} most frequent were searched"),
    ("co*ing", {}, None),
    ("exosome~9", {}, rf"capped at {MAX_FUZZY_DISTANCE}"),
    # 'exosome~10' parsed as exosom~1 AND '0' (no results, no notice); now capped.
    ("exosome~10", {}, rf"capped at {MAX_FUZZY_DISTANCE}"),
    ("exosome~1000", {}, rf"capped at {MAX_FUZZY_DISTANCE}"),
    # Terms were counted after the expansion into ~6 fields: 17 plain words were refused as
    # 'too many terms (102)'. The limit is on the words typed.
    (_words(MAX_TERMS), {}, None),
    ("patient with stage four lung cancer and brain metastases after chemotherapy who has "
     "failed two prior lines of therapy", {"operator": "or"}, None),
    ("cancer", {"page": MAX_RESULT_WINDOW // MAX_PER_PAGE, "per_page": MAX_PER_PAGE}, None),
    # The most expensive queries the bounds allow: many expanding words, OR-ed, sorted.
    (" ".join(f"{p}*" for p in ("co", "pa", "st", "tr", "in", "ca", "di", "re", "pr", "th",
                                 "de", "ma", "se", "im")), {"operator": "or", "sort": "last_update"},
     rf"the {MAX_EXPANSIONS} most frequent"),
    (" ".join(f"{w}~2" for w in ("cancer", "therapy", "patient", "study", "treatment",
                                 "disease", "clinical", "trial", "covid", "infection", "vaccine",
                                 "children", "adult", "placebo", "dose", "safety")),
     {"operator": "or", "per_page": MAX_PER_PAGE}, None),
]


def _id(value):
    return repr(value)[:30] if isinstance(value, str) else None


@pytest.mark.parametrize(("query", "options", "phrases", "param"), REFUSED, ids=_id)
def test_expensive_queries_are_refused_with_a_clear_message(shared, query, options, phrases,
                                                             param):
    started = time.monotonic()
    with pytest.raises(QueryError) as caught:
        shared.search(query, **options)
    assert time.monotonic() - started < 1.0, "refusing should be immediate"
    message = str(caught.value)
    for phrase in phrases:
        assert phrase in message, message
    assert caught.value.param == param
    assert len(message) < 300, "the message echoes the whole query"


@pytest.mark.parametrize(("query", "options", "notice"), CAPPED, ids=_id)
def test_expensive_queries_are_capped_and_finish_within_the_budget(shared, query, options,
                                                                   notice):
    started = time.monotonic()
    result = shared.search(query, **options)
    elapsed = time.monotonic() - started
    assert elapsed < WALL_BUDGET, f"{elapsed:.2f} s"
    assert not result.timed_out or any("incomplete" in n for n in result.notices)
    if notice:
        assert any(re.search(notice, n) for n in result.notices), result.notices
    if "~" in query or "*" in query:
        assert result.total > 0, "a capped query still finds studies"


def test_a_search_past_its_time_budget_is_marked_timed_out(shared_index):
    index = open_index(shared_index, time_budget=1e-6)
    result = index.search("co* OR pa* OR st*", operator="or", per_page=MAX_PER_PAGE)
    assert result.timed_out
    assert any("incomplete" in notice for notice in result.notices), result.notices


@pytest.mark.slow
def test_cli_refuses_expensive_queries_with_exit_2_and_no_traceback(shared_index):
    cases = [("*osomes", "at least 2 letters"), ("*", "'*' alone"),
             (_words(MAX_TERMS + 1), "too many terms"), ("first_posted:[x to y]", "not a date")]
    processes = [subprocess.Popen([TRIALSEARCH, "search", query, "--index", str(shared_index)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for query, _ in cases]
    for (query, phrase), process in zip(cases, processes):
        _, err = process.communicate(timeout=60)
        assert process.returncode == 2, (query[:30], err)
        assert phrase in err and "Traceback" not in err and err.startswith("Error: "), err


def test_api_applies_the_same_bounds_on_the_shared_corpus(shared_index):
    client = make_app(shared_index).test_client()
    for query, options, _, param in REFUSED:
        started = time.monotonic()
        response = client.get("/api/search", query_string={"q": query, **options})
        assert time.monotonic() - started < WALL_BUDGET
        assert response.status_code == 400, (query[:40], response.status_code)
        body = response.get_json()
        assert body["error"] and body["param"] == param, body
    for query, options, notice in CAPPED[:-2]:  # the two costliest are timed on the core above
        started = time.monotonic()
        response = client.get("/api/search", query_string={"q": query, **options})
        assert time.monotonic() - started < WALL_BUDGET, query[:40]
        assert response.status_code == 200, (query[:40], response.get_data(as_text=True)[:300])
        if notice:
            assert any(re.search(notice, n) for n in response.get_json()["notices"])
