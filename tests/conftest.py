"""Shared fixtures: the real data beside the project, small real indexes in temp dirs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer import build_index
from indexer.cli import SAMPLE_DATA

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
SEED_RECORD = SHARED_DATA / "seed_format" / "NCT05871463.txt"
XSS_NCT_ID = "NCT99999999"
XSS_TITLE = "Exosomes <script>alert(1)</script> and <img src=x onerror=alert(2)> study"

# A hostile record in the plain-text export layout: markup in title and summary must come out
# inert everywhere it is shown.
XSS_RECORD = f"""Viewing Study {XSS_NCT_ID}

Study NCT ID: {XSS_NCT_ID}
Status: RECRUITING
First Post: 2024-01-02
Last Update Posted: 2024-02-03

Brief Title: {XSS_TITLE}
Sponsor: <b>Evil</b> Sponsor & Co

Study Overview

Brief Summary: Payload <script>alert(3)</script> about exosomes "quoted" & <i>tags</i>
"""


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`, or skip the test where it is absent (CI always has it)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the project")
    return SHARED_DATA


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    """The bundled sample corpus, the seed record (when ../shared exists) and one XSS record."""
    corpus = tmp_path_factory.mktemp("corpus")
    shutil.copytree(SAMPLE_DATA, corpus / "sample")
    if SEED_RECORD.is_file():
        shutil.copy(SEED_RECORD, corpus / SEED_RECORD.name)
    (corpus / f"{XSS_NCT_ID}.txt").write_text(XSS_RECORD, encoding="utf-8")
    return corpus


@pytest.fixture(scope="session")
def built_index(corpus_dir, tmp_path_factory) -> Path:
    """A read-only index of `corpus_dir`, built once per session. Don't write to it: tests that
    change an index build their own."""
    path = tmp_path_factory.mktemp("index") / "index_data"
    build_index([corpus_dir], path)
    return path
