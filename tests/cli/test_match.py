"""`trialsearch match FILE|-`: patient mode in the terminal through click's CliRunner, on the
hand-made studies of tests/patients.py: what it prints, its JSON, its options, and its exit
codes on bad input (never a traceback)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from patients import ASTHMA_KIDS, HTN_OPEN, LUNG, PROSTATE, WOMAN, write_patient_index

from indexer.cli import main
from indexer.search import MAX_DESCRIPTION


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> str:
    return str(write_patient_index(tmp_path_factory.mktemp("patient-cli")))


def _match(index: str, *args: str, stdin: str | None = WOMAN):
    return CliRunner().invoke(main, ["match", *args, "--index", index], input=stdin)


def test_a_description_on_standard_input(index):
    result = _match(index, "-")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Patient: 58 years (58-year-old), female (woman); conditions: "
                          "Non-Small Cell Lung Cancer, Hypertension (HTN)\n"
                          "Filtered by: age 58, sex female.\n")
    assert f"1. {LUNG}  [RECRUITING]  Chemotherapy for Non-Small Cell Lung Cancer" in out
    assert "   Shares: Non-Small Cell Lung Cancer; Carcinoma, Non-Small-Cell Lung" in out
    assert "   Ages: 18 to 80 years (fits). Sex: any sex (fits)." in out
    assert "   + Inclusion: Non-small cell lung cancer, stage III  [Non-Small Cell Lung Cancer]" in out
    assert "   ! Exclusion: Uncontrolled hypertension  [Hypertension]" in out
    assert PROSTATE not in out and ASTHMA_KIDS not in out


def test_a_file_the_options_and_json(index, tmp_path):
    case = tmp_path / "case.txt"
    case.write_text(WOMAN, encoding="utf-8")
    result = _match(index, str(case), "--json", "--no-sex-filter", "--age", "12", "--condition",
                    "asthma", "-n", "3", stdin=None)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["filters"] == {"age": 12.0, "sex": None}
    assert [c["name"] for c in data["patient"]["conditions"]] == ["Asthma"]
    assert data["results"][0]["nct_id"] == ASTHMA_KIDS and len(data["results"]) <= 3
    assert "the sex filter is lifted" in data["notices"][0]
    lifted = _match(index, "-", "--no-age-filter", "--sex", "male", "--filter", "status=recruiting")
    assert lifted.exit_code == 0, lifted.output
    assert "Filtered by: sex male." in lifted.stdout and PROSTATE in lifted.stdout
    assert "Sex: men only (fits)." in lifted.stdout


def test_no_age_or_sex_is_said(index):
    result = _match(index, "-", stdin="Chronic obstructive pulmonary disease and dyspnea.")
    assert result.exit_code == 0, result.output
    assert "Patient: age not given, sex not given" in result.stdout
    assert "Filtered by" not in result.stdout
    assert "Note: the description gives no age" in result.stderr
    assert HTN_OPEN not in result.stdout or "Sex: sex not stated." in result.stdout


@pytest.mark.parametrize("stdin, args, message", [
    ("", [], "Error: description is empty"),
    ("  \n ", [], "Error: description is empty"),
    ("x" * (MAX_DESCRIPTION + 1), [], "Error: <stdin>: the description is over the limit of 20,000 "
                                      "characters"),
    (WOMAN, ["--filter", "colour=blue"], "Error: unknown filter 'colour'"),
    (WOMAN, ["--filter", "status"], "expected NAME=VALUE"),
    (WOMAN, ["--sex", "other"], "Invalid value for '--sex'"),
    (WOMAN, ["--age", "200"], "Invalid value for '--age'"),
])
def test_bad_input_is_one_line_and_exit_code_2(index, stdin, args, message):
    result = _match(index, "-", *args, stdin=stdin)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_not_utf8(index, tmp_path):
    case = tmp_path / "case.txt"
    case.write_bytes(b"A 58-year-old \xff\xfe woman")
    result = _match(index, str(case), stdin=None)
    assert result.exit_code == 2 and "not UTF-8 text" in result.stderr
