"""Hostile and malformed records, property-based (hypothesis): the record readers are fed
arbitrary text, JSON and bytes written to files in the shape of every format they read
(plain-text export, API v2 / classic API / TREC JSON and JSON Lines, legacy XML, TSV/CSV exports,
gzip and zip wrappers): `read_sources` never raises, and yields only `Study` (valid NCT ID,
serializable, indexable as a Whoosh document) or `Problem`. The test checks that its generators
reached both outcomes, so a generator that degenerates fails instead of passing vacuously."""

from __future__ import annotations

import gzip
import io
import json
import tempfile
import time
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from hostile import ANY_IDS, SCALE, SLOW_INPUT_SECONDS, hostile, summary
from hypothesis import example, given
from hypothesis import strategies as st
from whoosh.filedb.filestore import RamStorage

from indexer.index.schema import build_schema, study_to_document
from indexer.model import NCT_ID_RE, Problem, Study
from indexer.readers import read_sources

SCHEMA = build_schema()


# -- strategies: the pieces records are made of --------------------------------------------

NASTY_CHARS = st.sampled_from(list('\t\r\x00\x0b\x0c\x1b\u2028\u2029\ufeff"\'<>&|;:,{}[]()\\*?~^-'))
TEXT = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.one_of(NASTY_CHARS, st.characters(codec="utf-8")), max_size=60),
    st.sampled_from(["", "None", "N/A", "null", "NaN", "Phase 1/Phase 2", "PHASE2", "Phase IV",
                     "2023-02-30", "0000-00-00", "99999-01-01", "April 31, 2020", "June 2020",
                     "1e400", "-5", "1,200 (Estimated)", "<script>alert(1)</script>",
                     "]]>", "&amp;", "&#0;"]),
    st.integers(4000, 6000).map(lambda n: "x" * n),  # long runs
    st.integers(300, 400).map(lambda n: "9" * n),  # numbers no float can hold
)
DATES = st.one_of(TEXT, st.dates().map(date.isoformat), st.integers().map(str))
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=12,
)


def _json_dump(value) -> str:
    # allow_nan: Python writes NaN/Infinity, which json.loads reads back; files in the wild
    # written by Python carry them.
    return json.dumps(value, allow_nan=True)


# -- plain-text export ---------------------------------------------------------------------

TEXT_KEYS = ["Study NCT ID", "NCT ID", "Status", "Brief Title", "Official Title", "Acronym",
             "Brief Summary", "Detailed Description", "Sponsor", "Collaborators", "First Post",
             "Last Update Posted", "Start Date", "Completion Date", "Conditions", "Keywords",
             "Interventions", "Phase", "Study Type", "Enrollment (Estimated)",
             "Eligibility Criteria", "Sex", "Minimum Age", "Maximum Age", "Locations",
             "Ignite Creation Date", "If Stopped, Why?", "Inclusion Criteria"]
TEXT_SECTIONS = ["Study Overview", "Eligibility", "Contacts and Locations", "Conditions"]


@st.composite
def text_exports(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 3))):  # studies per file
        if draw(st.booleans()):
            lines.append(f"Viewing Study {draw(ANY_IDS)}")
        for _ in range(draw(st.integers(0, 12))):
            kind = draw(st.integers(0, 5))
            if kind <= 2:
                key = draw(st.one_of(st.sampled_from(TEXT_KEYS), st.text(max_size=70)))
                value = draw(st.one_of(TEXT, DATES, ANY_IDS))
                lines.append(f"{key}: {value}")
            elif kind == 3:
                lines.append(draw(st.sampled_from(TEXT_SECTIONS)))
            elif kind == 4:
                lines.append(draw(TEXT))
            else:
                lines.append("")
    return draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)


# -- JSON dialects -------------------------------------------------------------------------

def _leaf(draw, strategy=None):
    """Usually the right kind of value, sometimes any JSON at all."""
    strategy = TEXT if strategy is None else strategy
    return draw(st.one_of(strategy, JSON_VALUES)) if draw(st.booleans()) else draw(strategy)


@st.composite
def api_v2_records(draw) -> dict:
    section = {
        "identificationModule": {"nctId": _leaf(draw, ANY_IDS), "briefTitle": _leaf(draw),
                                 "officialTitle": _leaf(draw)},
        "statusModule": {"overallStatus": _leaf(draw),
                         "studyFirstPostDateStruct": {"date": _leaf(draw, DATES)},
                         "lastUpdatePostDateStruct": {"date": _leaf(draw, DATES)}},
        "descriptionModule": {"briefSummary": _leaf(draw)},
        "conditionsModule": {"conditions": draw(st.one_of(st.lists(TEXT, max_size=3), JSON_VALUES))},
        "designModule": {"phases": _leaf(draw), "studyType": _leaf(draw),
                         "enrollmentInfo": {"count": draw(JSON_SCALARS)}},
        "armsInterventionsModule": {"interventions": draw(st.one_of(
            st.lists(st.fixed_dictionaries({"type": TEXT, "name": JSON_VALUES}), max_size=3),
            JSON_VALUES))},
        "contactsLocationsModule": {"locations": draw(JSON_VALUES)},
        "sponsorCollaboratorsModule": draw(JSON_VALUES),
    }
    # Drop or replace whole modules at random.
    for key in draw(st.lists(st.sampled_from(sorted(section)), max_size=3)):
        section[key] = draw(JSON_VALUES)
    record = {"protocolSection": section}
    if draw(st.booleans()):
        record["hasResults"] = draw(JSON_SCALARS)
    return record


@st.composite
def api_v1_records(draw) -> dict:
    section = {
        "IdentificationModule": {"NCTId": _leaf(draw, ANY_IDS), "BriefTitle": _leaf(draw)},
        "StatusModule": {"OverallStatus": _leaf(draw),
                         "StudyFirstPostDateStruct": {"StudyFirstPostDate": _leaf(draw, DATES)}},
        "ConditionsModule": {"ConditionList": {"Condition": draw(JSON_VALUES)}},
        "DesignModule": {"PhaseList": {"Phase": draw(JSON_VALUES)},
                         "EnrollmentInfo": {"EnrollmentCount": draw(JSON_SCALARS)}},
        "ArmsInterventionsModule": {"InterventionList": {"Intervention": draw(JSON_VALUES)}},
    }
    study = {"ProtocolSection": section}
    return draw(st.sampled_from([study, {"Study": study}, {"Rank": 1, "Study": study}]))


@st.composite
def trec_records(draw) -> dict:
    return {
        "_id": _leaf(draw, ANY_IDS),
        "title": _leaf(draw),
        "text": _leaf(draw),
        "metadata": draw(st.one_of(
            st.fixed_dictionaries({"brief_title": TEXT, "phase": JSON_VALUES,
                                   "enrollment": JSON_SCALARS, "diseases_list": JSON_VALUES,
                                   "drugs_list": JSON_VALUES, "inclusion_criteria": JSON_VALUES,
                                   "exclusion_criteria": TEXT, "brief_summary": JSON_VALUES}),
            JSON_VALUES)),
    }


JSON_RECORDS = st.one_of(api_v2_records(), api_v1_records(), trec_records(), JSON_VALUES)


@st.composite
def json_documents(draw) -> str:
    records = draw(st.lists(JSON_RECORDS, min_size=1, max_size=4))
    layout = draw(st.sampled_from(["single", "pretty", "lines", "studies", "full", "array"]))
    if layout == "single":
        return _json_dump(records[0])
    if layout == "pretty":
        return json.dumps(records[0], indent=2, allow_nan=True)
    if layout == "studies":
        return _json_dump({"studies": records, "nextPageToken": draw(JSON_SCALARS)})
    if layout == "full":
        return _json_dump({"FullStudiesResponse": {"FullStudies": [
            {"Rank": n, "Study": r} for n, r in enumerate(records, 1)]}})
    if layout == "array":
        return _json_dump(records)
    lines = [_json_dump(r) for r in records]
    # Break some lines the way truncated downloads do.
    for n in draw(st.lists(st.integers(0, len(lines) - 1), max_size=2)):
        lines[n] = lines[n][: draw(st.integers(0, max(0, len(lines[n]) - 1)))]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(TEXT))
    return "\n".join(lines)


# -- legacy XML ----------------------------------------------------------------------------

XML_TAGS = ["brief_title", "official_title", "overall_status", "phase", "study_type",
            "enrollment", "condition", "keyword", "study_first_posted", "firstreceived_date",
            "last_update_posted", "start_date", "completion_date", "clinical_results"]


def _xml_escape(text: str) -> str:
    # Characters XML 1.0 cannot hold at all are dropped; markup characters escaped.
    kept = "".join(c for c in text if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd")
    return kept.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def xml_documents(draw) -> str:
    def study() -> str:
        parts = []
        if draw(st.booleans()):
            parts.append(f"<id_info><nct_id>{_xml_escape(draw(ANY_IDS))}</nct_id></id_info>")
        for _ in range(draw(st.integers(0, 8))):
            tag = draw(st.one_of(st.sampled_from(XML_TAGS),
                                 st.from_regex(r"[a-z_]{1,10}", fullmatch=True)))
            value = _xml_escape(draw(st.one_of(TEXT, DATES)))
            if draw(st.booleans()):
                value = f"<textblock>{value}</textblock>"
            parts.append(f"<{tag}>{value}</{tag}>")
        if draw(st.booleans()):
            parts.append("<intervention><intervention_type>"
                         f"{_xml_escape(draw(TEXT))}</intervention_type></intervention>")
        if draw(st.booleans()):
            depth = draw(st.integers(1, 2000))  # deep nesting
            parts.append("<a>" * depth + "x" + "</a>" * depth)
        return '<clinical_study rank="1">' + "".join(parts) + "</clinical_study>"

    body = study() if draw(st.booleans()) else (
        "<search_results>" + "".join(study() for _ in range(draw(st.integers(0, 3))))
        + "</search_results>")
    prolog = draw(st.sampled_from(["", '<?xml version="1.0" encoding="UTF-8"?>\n',
                                   '<!DOCTYPE x [<!ENTITY a "aaaa">]>\n', "\ufeff"]))
    if draw(st.integers(0, 4)) == 0:  # truncated or corrupted
        cut = draw(st.integers(0, len(body)))
        body = body[:cut] + draw(st.text(max_size=5))
    return prolog + body


# -- TSV / CSV exports ---------------------------------------------------------------------

TSV_COLUMNS = ["Rank", "NCT Number", "Title", "Status", "Conditions", "Interventions",
               "Sponsor/Collaborators", "Age", "Phases", "Enrollment", "Study Type",
               "First Posted", "Last Update Posted", "Study Title", "Brief Summary"]


@st.composite
def tsv_documents(draw) -> str:
    columns = draw(st.lists(st.one_of(st.sampled_from(TSV_COLUMNS), st.text(max_size=10)),
                            min_size=1, max_size=8))
    if "NCT Number" not in columns:
        columns.insert(draw(st.integers(0, len(columns))), "NCT Number")
    sep = draw(st.sampled_from(["\t", ","]))
    rows = [sep.join(columns)]
    for _ in range(draw(st.integers(0, 5))):
        width = draw(st.sampled_from([len(columns), len(columns), len(columns) - 1, len(columns) + 2]))
        cells = [draw(st.one_of(TEXT, ANY_IDS, DATES)) for _ in range(max(width, 0))]
        rows.append(sep.join(cells))
    if draw(st.integers(0, 10)) == 0:
        rows.append('"' + "x" * 140_000)  # a field past the csv module's size limit
    return draw(st.sampled_from(["\n", "\r\n"])).join(rows)


# -- files on disk -------------------------------------------------------------------------

FORMATS = {
    "text": text_exports(),
    "json": json_documents(),
    "xml": xml_documents(),
    "tsv": tsv_documents(),
    "arbitrary text": st.text(max_size=500),
}
MAGIC_PREFIXES = [b"", b"\x1f\x8b", b"PK\x03\x04", b"PK\x05\x06", b"\xef\xbb\xbf", b"{", b"<",
                  b"Viewing Study ", b"NCT Number\t"]


@st.composite
def raw_bytes(draw) -> bytes:
    return draw(st.sampled_from(MAGIC_PREFIXES)) + draw(st.binary(max_size=400))


def _wrap(data: bytes, wrapper: str, name: str) -> bytes:
    if wrapper == "gzip":
        return gzip.compress(data)
    if wrapper == "truncated gzip":
        packed = gzip.compress(data)
        return packed[: max(2, len(packed) // 2)]
    if wrapper == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(name, data)
            archive.writestr(f"nested/{name}.gz", gzip.compress(data))
        return buffer.getvalue()
    if wrapper == "latin-1":
        return data.decode("utf-8").encode("latin-1", errors="replace")
    return data


@st.composite
def record_files(draw) -> list[tuple[str, bytes]]:
    """One to three files of any format, possibly compressed, archived or mis-encoded."""
    files = []
    for n in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from([*FORMATS, "bytes"]))
        data = draw(raw_bytes()) if kind == "bytes" else draw(FORMATS[kind]).encode(
            "utf-8", errors="surrogatepass")
        wrapper = draw(st.sampled_from(["plain", "plain", "plain", "gzip", "truncated gzip",
                                        "zip", "latin-1"]))
        if wrapper == "latin-1" and kind == "bytes":
            wrapper = "plain"
        files.append((f"f{n}.{kind.replace(' ', '_')}", _wrap(data, wrapper, f"m{n}")))
    return files


def _check_study(study: Study, writer) -> None:
    assert NCT_ID_RE.match(study.nct_id), study.nct_id
    for name in ("brief_title", "official_title", "brief_summary", "status", "sponsor",
                 "study_type", "sex"):
        assert isinstance(getattr(study, name), str), name
    for name in ("conditions", "interventions", "keywords", "phases", "locations"):
        value = getattr(study, name)
        assert isinstance(value, list) and all(isinstance(v, str) and v for v in value), name
    for name in ("first_posted", "last_update_posted", "start_date", "completion_date"):
        assert getattr(study, name) is None or isinstance(getattr(study, name), date), name
    assert study.enrollment is None or (isinstance(study.enrollment, int) and study.enrollment >= 0)
    # What a build does with it: serialize the record and index the document.
    assert Study.from_dict(json.loads(json.dumps(study.to_dict(), ensure_ascii=False))).nct_id \
        == study.nct_id
    writer.add_document(**study_to_document(study))


def _read_all(paths: list[Path]) -> list:
    started = time.monotonic()
    items = list(read_sources(paths))
    elapsed = time.monotonic() - started
    assert elapsed < SLOW_INPUT_SECONDS, f"reading took {elapsed:.1f} s"
    return items


@pytest.mark.slow
def test_readers_never_raise_and_yield_only_studies_or_problems(record_property):
    counts = Counter()

    @hostile(600)
    @given(files=record_files())
    @example(files=[("deep.json", b"[" * 100_000 + b"]" * 100_000)])
    @example(files=[("nul.txt", b"Study NCT ID: NCT00000001\x00\nBrief Title: \x00\x00")])
    def check(files):
        ix = RamStorage().create_index(SCHEMA)
        writer = ix.writer()
        try:
            with tempfile.TemporaryDirectory() as folder:
                paths = []
                for name, data in files:
                    path = Path(folder) / name
                    path.write_bytes(data)
                    paths.append(path)
                # Each file alone, then the folder as a whole (duplicates across files).
                for source in [*([p] for p in paths), [Path(folder)]]:
                    for item in _read_all(source):
                        assert isinstance(item, (Study, Problem)), type(item)
                        if isinstance(item, Study):
                            counts["studies"] += 1
                            _check_study(item, writer)
                        else:
                            counts["problems"] += 1
                            assert item.kind in ("error", "ignored") and item.reason
                            assert "Traceback" not in item.reason
                counts["files"] += len(files)
                counts["examples"] += 1
        finally:
            writer.cancel()

    check()
    summary(record_property, "reader_inputs", counts)
    # The generators reach both outcomes: valid studies and reported problems.
    assert counts["studies"] >= 100 * SCALE and counts["problems"] >= 100 * SCALE, counts


@pytest.mark.parametrize(("name", "data", "expect"), [
    # JSON's Infinity, 1e400 and a 400-digit count made int(float(...)) raise OverflowError.
    ("inf.json", b'{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}, '
                 b'"designModule": {"enrollmentInfo": {"count": Infinity}}}}', "study"),
    ("huge.jsonl", b'{"_id": "NCT00000002", "metadata": {"enrollment": 1e400}}\n'
                   b'{"_id": "NCT00000004", "metadata": {"enrollment": NaN}}', "study"),
    ("digits.txt", b"Study NCT ID: NCT00000005\nEnrollment (Actual): " + b"9" * 400, "study"),
    # A header field past the csv module's 128 KB field limit raised csv.Error.
    ("wide.tsv", b"NCT Number\t" + b"x" * 140_000 + b"\nNCT00000003\ty\n", "malformed header"),
    # Entity expansion (billion laughs) and external entities are refused, quickly.
    ("bomb.xml", b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY l0 "lol">'
     + b"".join(b'<!ENTITY l%d "%s">' % (i, b"&l%d;" % (i - 1) * 10) for i in range(1, 10))
     + b"]><clinical_study><id_info><nct_id>NCT00000006</nct_id></id_info>"
       b"<brief_title>&l9;</brief_title></clinical_study>", "DOCTYPE"),
    ("xxe.xml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b"<clinical_study><id_info><nct_id>NCT00000007</nct_id></id_info>"
                b"<brief_title>&e;</brief_title></clinical_study>", "DOCTYPE"),
], ids=["json-Infinity", "json-1e400-NaN", "400-digit-count", "tsv-wide-header",
        "xml-billion-laughs", "xml-external-entity"])
def test_reader_regressions(tmp_path, name, data, expect):
    path = tmp_path / name
    path.write_bytes(data)
    started = time.monotonic()
    items = list(read_sources([path]))
    assert time.monotonic() - started < 2.0
    studies = [item for item in items if isinstance(item, Study)]
    problems = [item for item in items if isinstance(item, Problem)]
    if expect == "study":
        assert studies and not problems, items
        assert all(study.enrollment is None for study in studies), studies
    else:
        assert not studies and len(problems) == 1 and expect in problems[0].reason, items
        assert "root:" not in problems[0].reason


