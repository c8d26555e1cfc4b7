"""The JSON API fed hostile parameters (Flask test client, hypothesis): 200, or 400 with
`{"error", "param"}`; never a 500."""

from __future__ import annotations

import string
from collections import Counter
from urllib.parse import quote

import pytest
from hostile import ANY_IDS, QUERY_TEXT, SCALE, hostile, summary
from hypothesis import example, given
from hypothesis import strategies as st

# -- the JSON API --------------------------------------------------------------------------

API_PARAM_NAMES = ["q", "page", "per_page", "sort", "operator", "field", "fields", "status",
                   "phase", "type", "sponsor", "year", "filter", "format", "callback", "limit",
                   "lang", "highlight", "facets", "bogus", ""]
API_PARAM_VALUES = st.one_of(
    QUERY_TEXT, st.integers().map(str), st.sampled_from(["", "0", "-1", "1e9", "nan", "inf",
                                                           "10000", "true", "[]", "{}", "%00"]),
)


@pytest.fixture(scope="module")
def api_client(built_index):
    webapp = pytest.importorskip("webapp")
    if not hasattr(webapp, "create_app"):
        pytest.skip("webapp.create_app is not there yet")
    app = webapp.create_app(index_path=str(built_index))
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    return app.test_client()


def test_search_api_answers_200_or_400_never_500(api_client, record_property):
    counts = Counter()

    @hostile(400)
    @given(params=st.lists(st.tuples(st.sampled_from(API_PARAM_NAMES), API_PARAM_VALUES),
                           max_size=6))
    @example(params=[("q", "exosomes")])
    def check(params):
        counts["requests"] += 1
        response = api_client.get("/api/search", query_string=params)
        assert response.status_code in (200, 400), (params, response.status_code,
                                                     response.data[:300])
        assert response.mimetype == "application/json"
        body = response.get_json()
        assert isinstance(body, dict)
        counts[str(response.status_code)] += 1
        if response.status_code == 400:
            assert body.get("error") and body.get("param"), body
            assert "Traceback" not in body["error"]
        else:
            assert isinstance(body["results"], list) and body["total"] >= len(body["results"])

    check()
    summary(record_property, "api_search_requests", counts)
    assert counts["200"] >= 50 * SCALE and counts["400"] >= 50 * SCALE, counts


def test_study_api_answers_200_or_404_never_500(api_client, record_property):
    counts = Counter()

    @hostile(200)
    @given(nct_id=st.one_of(ANY_IDS, st.text(alphabet=string.printable, max_size=40)).filter(bool))
    @example(nct_id="NCT99999999")
    def check(nct_id):
        counts["requests"] += 1
        for suffix in ("", "/similar"):
            response = api_client.get("/api/studies/" + quote(nct_id, safe="") + suffix)
            if response.status_code == 308 and "/" in nct_id:
                continue  # Werkzeug decodes %2F and merges the slashes: a redirect, no view ran
            assert response.status_code in (200, 400, 404), (nct_id, suffix, response.status_code)
            assert response.mimetype == "application/json", (nct_id, response.mimetype)
            counts[str(response.status_code)] += 1

    check()
    summary(record_property, "api_study_requests", counts)
    assert counts["200"] >= 1 and counts["404"] >= 50 * SCALE, counts

