"""Hand-made studies for patient mode, whose right answers are known (tests/search/test_patient.py,
tests/cli, tests/webapp): a woman of 58 with non-small cell lung cancer and HTN may join LUNG
(with an exclusion line about hypertension), HTN_OPEN (which says nothing of age or sex) and
DIABETES, not PROSTATE (men) or ASTHMA_KIDS (6 to 17)."""

from __future__ import annotations

import json
from pathlib import Path

from indexer import build_index


def _study(nct: str, title: str, conditions: list[str], *, sex: str | None = "ALL", low=None,
           high=None, summary="", criteria="", mesh=()) -> dict:
    eligibility = {"sex": sex, "minimumAge": low, "maximumAge": high,
                   "eligibilityCriteria": criteria}
    return {"protocolSection": {
        "identificationModule": {"nctId": nct, "briefTitle": title},
        "statusModule": {"overallStatus": "RECRUITING"},
        "conditionsModule": {"conditions": conditions},
        "descriptionModule": {"briefSummary": summary},
        "eligibilityModule": {k: v for k, v in eligibility.items() if v is not None}},
        "derivedSection": {"conditionBrowseModule": {"meshes": [{"term": m} for m in mesh]}}}


LUNG, PROSTATE, ASTHMA_KIDS, HTN_OPEN, DIABETES, COPD, COPD_TOO, HTN_WOMEN, XSS = (
    f"NCT0000030{n}" for n in range(9))
XSS_LINE = "<img src=x onerror=alert(1)> Uncontrolled hypertension <script>alert(2)</script>"
STUDIES = [
    _study(LUNG, "Chemotherapy for Non-Small Cell Lung Cancer", ["Non-Small Cell Lung Cancer"],
           low="18 Years", high="80 Years", mesh=["Carcinoma, Non-Small-Cell Lung"],
           summary="Adults with non-small cell lung cancer and a lung mass on chest x-ray.",
           criteria="Inclusion Criteria:\n\n* Non-small cell lung cancer, stage III\n"
                    "* Exertional dyspnea allowed\n\nExclusion Criteria:\n\n"
                    "* Uncontrolled hypertension\n* Pregnant or breastfeeding women"),
    _study(PROSTATE, "Radiotherapy for Prostate Cancer", ["Prostate Cancer", "Lung Cancer"],
           sex="MALE", low="40 Years", summary="Men with prostate cancer or a lung mass."),
    _study(ASTHMA_KIDS, "Inhaled Steroids in Children With Asthma", ["Asthma"], low="6 Years",
           high="17 Years", summary="Children with asthma and dyspnea on exertion."),
    _study(HTN_OPEN, "Salt and Hypertension", ["Hypertension"], sex=None,
           summary="Adults with hypertension (HTN): salt restriction and a lung mass registry."),
    _study(DIABETES, "Metformin in Type 2 Diabetes", ["Type 2 Diabetes", "Hypertension"],
           low="18 Years", high="65 Years", summary="Type 2 diabetes with hypertension (HTN).",
           criteria="Inclusion Criteria:\n\n* Type 2 diabetes\n\nExclusion Criteria:\n\n"
                    "* Pregnancy"),
    _study(COPD, "Pulmonary Rehabilitation in COPD", ["COPD"],
           summary="Chronic obstructive pulmonary disease (COPD) and exertional dyspnea."),
    _study(COPD_TOO, "Oxygen at Home for COPD", ["Chronic Obstructive Pulmonary Disease"],
           summary="Home oxygen in chronic obstructive pulmonary disease (COPD)."),
    _study(HTN_WOMEN, "Hypertension in Pregnancy", ["Hypertension", "Asthma"], sex="FEMALE",
           summary="Hypertension and asthma in pregnant women."),
    # Markup in the record must come out inert wherever its reasons are shown.
    _study(XSS, "Salt <b>and</b> hypertension in older women", ["Hypertension"], sex="FEMALE",
           low="50 Years", summary="Older women with hypertension.",
           criteria=f"Inclusion Criteria:\n\n* Women over 50\n\nExclusion Criteria:\n\n* {XSS_LINE}"),
]
WOMAN = ("A 58-year-old woman, nonsmoker, with exertional dyspnea and a left lung mass on chest "
         "x-ray. She has non-small cell lung cancer and HTN. No history of asthma.")


def write_patient_index(folder: Path) -> Path:
    """An index of STUDIES in `folder`; its path."""
    (folder / "studies.jsonl").write_text("\n".join(json.dumps(s) for s in STUDIES), encoding="utf-8")
    build_index([folder / "studies.jsonl"], folder / "index")
    return folder / "index"
