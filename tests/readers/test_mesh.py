"""The registry's MeSH terms on real records of every format that carries them (API v2, classic
API, legacy XML): exact terms and as-found pairs of named studies, counts over each shared
file, formats without them, old stored records, the study page and the API's Study schema."""

from __future__ import annotations

import gzip
import json

import jsonschema
import pytest
from conftest import studies_in

from indexer import build_index
from indexer.model import Study


def counts(studies: dict[str, Study]) -> tuple[int, int, int, int]:
    """(studies, with condition terms, with intervention terms, with as-found pairs)."""
    values = list(studies.values())
    return (len(values), sum(bool(s.condition_mesh) for s in values),
            sum(bool(s.intervention_mesh) for s in values),
            sum(bool(s.condition_mesh_found) for s in values))


def test_api_v2_mesh_terms_and_what_they_were_found_as(v2):
    eczema = v2["NCT02210780"]
    assert eczema.conditions == ["Atopic Dermatitis"]
    assert eczema.condition_mesh == ["Dermatitis, Atopic", "Dermatitis", "Eczema"]
    assert eczema.condition_mesh_found == [("Atopic Dermatitis", "Dermatitis, Atopic"),
                                           ("Dermatitis", "Dermatitis"),
                                           ("Atopic Dermatitis", "Eczema")]
    # The terms are the MeSH list: the low-relevance browse leaves (ancestors such as "Skin
    # Diseases") are not among them.
    assert "Skin Diseases" not in eczema.condition_mesh
    assert v2["NCT05594173"].condition_mesh_found == [("Dysphagia", "Deglutition Disorders")]
    diabetes = v2["NCT00763412"]
    assert diabetes.intervention_mesh == ["Repaglinide"]
    # One found phrase may give two terms; a leaf listed twice gives one pair.
    assert ("Pre-diabetes", "Prediabetic State") in diabetes.condition_mesh_found
    assert ("Pre-diabetes", "Glucose Intolerance") in diabetes.condition_mesh_found
    assert diabetes.condition_mesh_found.count(("Cystic Fibrosis", "Cystic Fibrosis")) == 1
    # An alcohol study's low-relevance leaf "Mitral Valve Insufficiency" is no term of it.
    assert v2["NCT03418623"].condition_mesh == ["Alcoholism", "Alcohol Drinking"]
    assert v2["NCT00465816"].condition_mesh == v2["NCT00465816"].condition_mesh_found == []
    assert counts(v2) == (12, 9, 2, 9)


def test_classic_api_mesh_terms(v1):
    lung = v1["NCT00023673"]
    assert lung.condition_mesh == ["Lung Neoplasms", "Carcinoma, Non-Small-Cell Lung"]
    assert lung.intervention_mesh == ["Paclitaxel", "Carboplatin"]
    assert lung.condition_mesh_found == [
        ("Non-Small Cell Lung Cancer", "Carcinoma, Non-Small-Cell Lung"), ("Lung Cancer", "Lung Neoplasms")]
    assert v1["NCT04779853"].condition_mesh_found == [("Pertussis", "Whooping Cough")]
    # A high-relevance leaf that is not in the MeSH list ("Familial Alzheimer Disease" found
    # as "Alzheimer's Disease") is neither a term nor a pair.
    alzheimer = v1["NCT04780399"]
    assert "Familial Alzheimer Disease" not in alzheimer.condition_mesh
    assert all(term != "Familial Alzheimer Disease" for _, term in alzheimer.condition_mesh_found)
    assert counts(v1) == (205, 173, 45, 173)
    # The derived section stays out of `extra`, as before.
    assert not any("Mesh" in key or "Browse" in key for key in lung.extra)


def test_legacy_xml_mesh_terms(xml):
    study = xml["NCT00001177"]
    assert study.condition_mesh == ["Depression", "Mood Disorders", "Premenstrual Syndrome"]
    assert study.intervention_mesh == [] and study.condition_mesh_found == []
    vaccine = next(s for s in xml.values() if "Cyclophosphamide" in s.intervention_mesh)
    assert "Interferon-alpha" in vaccine.intervention_mesh
    # Mapped now, so no longer kept in `extra` under their element paths.
    assert not any("browse" in key for s in xml.values() for key in s.extra)
    assert counts(xml) == (128, 107, 57, 0)


def test_formats_without_mesh_terms(shared_data):
    for path in (shared_data / "ctgov_tsv", shared_data / "trec_ct" / "trec_2022_corpus_sample.jsonl",
                 shared_data / "seed_format"):
        studies = studies_in(path)
        assert studies and counts(studies)[1:] == (0, 0, 0)


def test_mesh_terms_round_trip_and_old_records_load(v1):
    study = v1["NCT00023673"]
    stored = json.loads(json.dumps(study.to_dict(), ensure_ascii=False))
    assert stored["condition_mesh_found"][0] == ["Non-Small Cell Lung Cancer", "Carcinoma, Non-Small-Cell Lung"]
    assert Study.from_dict(stored) == study
    old = {k: v for k, v in stored.items()
           if k not in {"condition_mesh", "intervention_mesh", "condition_mesh_found"}}
    loaded = Study.from_dict(old)
    assert loaded.condition_mesh == loaded.intervention_mesh == loaded.condition_mesh_found == []
    # Odd stored values are dropped, not raised on.
    odd = Study.from_dict({"nct_id": "NCT00000001", "condition_mesh_found": [["a"], "x", ["b", 2], ["c", "d"]]})
    assert odd.condition_mesh_found == [("c", "d")]


# --- the study page and the API --------------------------------------------------------------

@pytest.fixture(scope="module")
def mesh_app(shared_data, tmp_path_factory):
    """An app over a few real records: API v2 (eczema), classic API (pertussis) and XML."""
    from webapp import create_app

    records = tmp_path_factory.mktemp("records")
    with gzip.open(shared_data / "ctgov" / "api_v2_studies.jsonl.gz", "rt", encoding="utf-8") as f:
        (records / "v2.jsonl").write_text(
            "\n".join(line for line in f.read().splitlines() if '"NCT02210780"' in line), encoding="utf-8")
    with gzip.open(shared_data / "ctgov" / "api_v1_fullstudies.jsonl.gz", "rt", encoding="utf-8") as f:
        (records / "v1.jsonl").write_text(
            "\n".join(line for line in f.read().splitlines() if '"NCT04779853"' in line), encoding="utf-8")
    (records / "x.xml").write_bytes((shared_data / "ctgov" / "legacy_xml" / "NCT00001177.xml").read_bytes())
    index = tmp_path_factory.mktemp("index") / "index_data"
    build_index([records], index)
    return create_app(index_path=index)


def test_study_page_shows_mesh_terms_as_searches(mesh_app):
    client = mesh_app.test_client()
    page = client.get("/study/NCT02210780").get_data(as_text=True)
    fields = "".join(part.split("</dl>", 1)[0] for part in page.split('<dl class="fields">')[1:])
    assert "<dt>Condition MeSH terms</dt>" in fields and "Intervention MeSH terms" not in fields
    assert fields.index("<dt>Conditions</dt>") < fields.index("<dt>Condition MeSH terms</dt>")
    assert '<a href="/?q=mesh%3A%22Dermatitis%2C+Atopic%22">Dermatitis, Atopic</a>' in fields
    # The link finds the study; so does a bare word only its MeSH terms hold.
    linked = client.get("/?q=mesh%3A%22Dermatitis%2C+Atopic%22").get_data(as_text=True)
    assert "/study/NCT02210780" in linked
    assert "/study/NCT04779853" in client.get("/?q=whooping+cough").get_data(as_text=True)


def test_api_study_with_mesh_terms_matches_the_document(mesh_app):
    from webapp.openapi import SCHEMAS

    client = mesh_app.test_client()
    schema = {"$ref": "#/components/schemas/Study", "components": {"schemas": SCHEMAS}}
    for nct_id in ("NCT02210780", "NCT04779853", "NCT00001177"):
        body = client.get(f"/api/studies/{nct_id}").get_json()
        jsonschema.validate(body, schema)
        assert body["condition_mesh"]
    assert client.get("/api/studies/NCT04779853").get_json()["condition_mesh_found"] == [
        ["Pertussis", "Whooping Cough"]]
    bad = {**client.get("/api/studies/NCT04779853").get_json(), "condition_mesh_found": [["only one"]]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
