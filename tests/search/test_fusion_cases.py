"""The cases issue 25 was filed on, in every mode that runs them: a study matching every concept
of what was typed ranks above studies matching some, and the meaning side learns what the
words side knows (PRP is platelet rich plasma)."""

from __future__ import annotations

import json

import pytest

from indexer import SearchIndex, build_index, open_index
from indexer.semantic import missing_packages

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(missing_packages()),
                                                   reason="meaning search needs the 'semantic' extra")]


def record(nct_id: str, title: str, summary: str, conditions: list[str], mesh: list[str] = ()) -> dict:
    """An API v2 study with what these cases need."""
    return {"protocolSection": {
        "identificationModule": {"nctId": nct_id, "briefTitle": title},
        "statusModule": {"overallStatus": "RECRUITING"},
        "descriptionModule": {"briefSummary": summary},
        "conditionsModule": {"conditions": conditions}},
        "derivedSection": {"conditionBrowseModule": {"meshes": [{"term": term} for term in mesh]}}}


TENDON = "NCT99100001"
KNEE_PRP = "NCT99100002"
KNEE_EXERCISE = "NCT99100003"
STUDIES = [
    record(TENDON, "Platelet Rich Plasma in Tendon Repair",
           "Platelet rich plasma (PRP) is injected at the repaired rotator cuff tendon. PRP "
           "concentrates growth factors that may help the tendon heal.", ["Rotator Cuff Tear"]),
    record(KNEE_PRP, "PRP Injection for Knee Osteoarthritis",
           "Adults with knee osteoarthritis receive three intra-articular PRP injections or "
           "saline; pain and function are measured for a year.", ["Knee Osteoarthritis"],
           ["Osteoarthritis, Knee"]),
    record(KNEE_EXERCISE, "Exercise Therapy for Knee Osteoarthritis",
           "A supervised exercise programme for adults with knee osteoarthritis, against usual "
           "care.", ["Knee Osteoarthritis"], ["Osteoarthritis, Knee"]),
    record("NCT99100004", "Platelet Rich Plasma (PRP) for Chronic Wounds",
           "Topical platelet rich plasma (PRP) gel on diabetic foot ulcers.", ["Diabetic Foot Ulcer"]),
    record("NCT99100005", "Hyaluronic Acid Injection in Hip Osteoarthritis",
           "Intra-articular hyaluronic acid for hip osteoarthritis pain.", ["Hip Osteoarthritis"]),
]


def index_with_vectors(studies: list[dict], folder) -> SearchIndex:
    """An index of `studies` in `folder`, every study's vector computed."""
    from indexer.semantic.encoder import SentenceEncoder
    from indexer.semantic.fill import fill_vectors

    (folder / "studies.json").write_text(json.dumps({"studies": studies}), encoding="utf-8")
    path = folder / "index_data"
    build_index([folder / "studies.json"], path)
    fill_vectors(path, SentenceEncoder())
    return open_index(path)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return index_with_vectors(STUDIES, tmp_path_factory.mktemp("prp"))


@pytest.mark.parametrize("mode", ["keyword", "hybrid", "semantic"])
def test_the_study_matching_every_concept_ranks_first(index, mode):
    # PRP is mined from the studies that define it; the knee study holds every concept only
    # through it.
    assert index.abbreviations.get("PRP") == ["platelet rich plasma"]
    result = index.search("platelet rich plasma osteoarthritis", mode=mode)
    assert result.mode == mode
    assert result.hits[0].nct_id == KNEE_PRP, [hit.nct_id for hit in result.hits]


def test_the_meaning_side_reads_the_long_form(index):
    typed = index.search("PRP osteoarthritis", mode="semantic").hits
    spelled = index.search("platelet rich plasma osteoarthritis", mode="semantic").hits
    assert typed[0].nct_id == spelled[0].nct_id == KNEE_PRP


MYOCARDIAL_INFARCTION = {"NCT99200001", "NCT99200002", "NCT99200003", "NCT99200009", "NCT99200010"}
HEART_STUDIES = [
    record("NCT99200001", "Early Invasive Strategy After Acute Myocardial Infarction",
           "Patients admitted with ST-elevation myocardial infarction are randomised to early "
           "angiography or a conservative strategy.", ["Myocardial Infarction"], ["Myocardial Infarction"]),
    record("NCT99200002", "Ticagrelor Versus Clopidogrel After STEMI",
           "Antiplatelet therapy after primary percutaneous coronary intervention for acute "
           "myocardial infarction.", ["STEMI"], ["ST Elevation Myocardial Infarction"]),
    record("NCT99200003", "Cardiac Rehabilitation After Myocardial Infarction",
           "A home-based exercise programme for survivors of a myocardial infarction.",
           ["Myocardial Infarction"], ["Myocardial Infarction"]),
    record("NCT99200004", "Sacubitril in Chronic Heart Failure",
           "Adults with heart failure and reduced ejection fraction receive sacubitril/valsartan.",
           ["Heart Failure"], ["Heart Failure"]),
    record("NCT99200005", "Fast-Track Recovery After Open Heart Surgery",
           "An enhanced recovery pathway after cardiac surgery with cardiopulmonary bypass.",
           ["Cardiac Surgery"]),
    record("NCT99200006", "Fontan Circulation in Congenital Heart Disease",
           "Exercise capacity in adolescents with single-ventricle congenital heart disease.",
           ["Congenital Heart Disease"], ["Heart Defects, Congenital"]),
    record("NCT99200007", "Cognitive Therapy for Panic Attack",
           "Internet-delivered cognitive behavioural therapy for adults with panic attacks.",
           ["Panic Disorder"], ["Panic Disorder"]),
    # Where the lay name comes from: a record that lists it beside the registry's term.
    record("NCT99200009", "Heart Attack Survivors Registry", "A registry of people after a heart "
           "attack.", ["Heart Attack"], ["Myocardial Infarction"]),
    record("NCT99200010", "Text Messages After a Heart Attack", "Reminders to take medicines after "
           "hospital discharge.", ["Heart Attack"], ["Myocardial Infarction"]),
    record("NCT99200008", "Heart Rate Variability in Healthy Runners",
           "A cohort study of heart rate variability during marathon training.", ["Healthy"]),
]


@pytest.fixture(scope="module")
def heart_index(tmp_path_factory):
    return index_with_vectors(HEART_STUDIES, tmp_path_factory.mktemp("heart"))


@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
def test_a_common_word_does_not_outrank_the_concept(heart_index, mode):
    # Two records list "Heart Attack" beside the registry's term, Myocardial Infarction, so the
    # index knows the lay name; three more studies of it never say "heart attack". The rest
    # share the word "heart" (or "attack") with the query, and the model finds them closer.
    result = heart_index.search("heart attack", mode=mode)
    top = [hit.nct_id for hit in result.hits[:len(MYOCARDIAL_INFARCTION)]]
    assert set(top) == MYOCARDIAL_INFARCTION, [(hit.nct_id, hit.title) for hit in result.hits]
