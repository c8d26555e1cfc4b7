"""Facets are declared once (`indexer.catalog.facets.FACETS`): each one is counted by the search
core, filters it, is a documented API parameter, a list on the page, a widget option and part
of the configuration the server writes into widget.js.
"""

from __future__ import annotations

import json
import re

import pytest

from indexer import open_index
from indexer.catalog.facets import FACETS
from webapp import create_app
from webapp.widget import OPTIONS, served_configuration


@pytest.fixture(scope="module")
def index(built_index):
    return open_index(built_index)


@pytest.fixture(scope="module")
def facets_client(built_index):
    return create_app(index_path=built_index).test_client()


def test_the_served_widget_script_knows_every_facet_and_its_values(facets_client):
    script = facets_client.get("/widget.js").get_data(as_text=True)
    served = json.loads(re.search(r"const CONFIG = (\{.*?\});\n", script).group(1))
    assert served == served_configuration()
    assert served["filters"] == {facet.name: {"list": facet.kind.in_lists, "pattern": facet.kind.pattern}
                                 for facet in FACETS}


COUNTED = [facet for facet in FACETS if facet.counted]
# Filters that are not counted, with a value for the invented corpus and the studies it
# selects there (sites placed by their city: Boston, Toronto, Hamburg, ...).
NOT_COUNTED = {"state": "massachusetts", "city": "Boston", "near": "43.70,-79.42", "radius": "20",
               "age": "70"}


@pytest.mark.parametrize("facet", COUNTED, ids=lambda facet: facet.name)
def test_a_facet_is_counted_filtered_documented_shown_and_offered(index, facets_client, facet):
    everything = index.search()
    counts = everything.facets[facet.name]
    assert counts, f"no {facet.name} counted"
    value = str(counts[0]["value"])
    narrowed = index.search(filters={facet.name: [value]})
    assert narrowed.total == counts[0]["count"] and 0 < narrowed.total < everything.total
    api = facets_client.get("/api/search", query_string={facet.name: value})
    assert api.status_code == 200 and api.json["total"] == narrowed.total
    spec = facets_client.get("/api/openapi.json").json
    parameters = {p["name"]: p for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert facet.name in parameters and parameters[facet.name]["description"]
    page = facets_client.get("/", query_string={facet.name: value}).get_data(as_text=True)
    assert re.search(rf"<h2[^>]*>{facet.label}</h2>", page), f"no {facet.label} list"
    assert facet.name in {option.name for option in OPTIONS}


@pytest.mark.parametrize("facet", [f for f in FACETS if not f.counted], ids=lambda facet: facet.name)
def test_a_filter_is_applied_documented_shown_and_offered(index, facets_client, facet):
    everything = index.search()
    given = {facet.name: NOT_COUNTED[facet.name]}
    if facet.name == "radius":
        given["near"] = NOT_COUNTED["near"]
    narrowed = index.search(filters=given)
    assert 0 < narrowed.total < everything.total
    api = facets_client.get("/api/search", query_string=given)
    assert api.status_code == 200 and api.json["total"] == narrowed.total
    spec = facets_client.get("/api/openapi.json").json
    parameters = {p["name"]: p for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert facet.name in parameters and parameters[facet.name]["description"]
    page = facets_client.get("/", query_string=given)
    shown = re.search(r"([\d,]+) (?:study matches|studies match)", page.get_data(as_text=True))
    assert page.status_code == 200 and shown and int(shown.group(1).replace(",", "")) == narrowed.total
    assert facet.name in {option.name for option in OPTIONS}
    assert facets_client.get("/embed", query_string=given).status_code == 200
