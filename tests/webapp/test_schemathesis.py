"""Schemathesis 4 against the real server: every operation of /api/openapi.json, with every
check, in positive and negative modes, so the document and the API cannot drift apart.

This file is also the run's hooks module (SCHEMATHESIS_HOOKS): it registers the one check that
replaces schemathesis's positive_data_acceptance, below.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
from live import gunicorn_server
from schemathesis.specs.openapi.checks import positive_data_acceptance  # the built-in check

from indexer import build_index

pytestmark = [pytest.mark.live_server, pytest.mark.slow]

ADMIN_TOKEN = "schemathesis-admin-token"
SEED = 20240601
MAX_EXAMPLES = 300  # per operation and phase: ~1,500 requests, about 30 s on two idle cores
# Parameters a schema-valid value may still be refused for (400 naming them), as the document
# says: the query language (`q`, also blank on /api/places), the registry's spellings
# (`status`, `phase`, `type`, `age_group`, `sex`, `funder_type`), country names and the places
# `near` knows by name are richer than JSON Schema; `page` is bounded by page × per_page,
# `radius` needs `near`, `sort=distance` needs `near` and `mode=semantic` plain words in `q`
# and no date sort: rules across two parameters.
MAY_REFUSE = {"q", "status", "phase", "type", "age_group", "sex", "funder_type", "country", "near",
              "page", "radius", "sort", "mode"}
# gunicorn refuses request lines over 8190 bytes with 414 before the app sees them; long
# generated values reach that, valid or not, so 414 is a right answer to both kinds. Likewise
# 413: a patient search's body is capped in bytes, and values each within their bounds can pass
# the cap together (as JSON escapes them, twenty conditions of 200 characters take 48 KB).
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "413", "414", "429", "5xx"]

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422",
                     "428", "429", "5xx"]
"""


@schemathesis.check
def valid_data_accepted(ctx, response, case):
    """positive_data_acceptance, except for a 400 naming a parameter in MAY_REFUSE."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except AssertionError:
        if response.status_code == 400 and response.json().get("param") in MAY_REFUSE:
            return None
        raise


@pytest.fixture(scope="module")
def server(corpus_dir, tmp_path_factory):
    """`trialsearch serve` over its own index of the test corpus, with admin on (schemathesis
    drives the reindex too, with the token and without it to see it refused) and its vector
    filler running: its base URL, and its output (a 500's traceback is there)."""
    index = tmp_path_factory.mktemp("schemathesis") / "index_data"
    build_index([corpus_dir], index)
    env = {"TRIALSEARCH_ADMIN_TOKEN": ADMIN_TOKEN, "TRIALSEARCH_SOURCES": str(corpus_dir)}
    log = (index.parent / "server.log").open("w+", encoding="utf-8")
    with log, gunicorn_server(index, env=env, log=log) as base_url:
        yield base_url, log


def test_api_conforms_to_its_openapi_document(server, tmp_path):
    base_url, server_log = server
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    st = Path(sys.executable).with_name("st")
    command = [
        str(st), "--config-file", str(config), "--no-color", "run", f"{base_url}/api/openapi.json",
        "--checks", "all", "--exclude-checks", "positive_data_acceptance", "--mode", "all",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--generation-database", "none",
        "--header", f"Authorization: Bearer {ADMIN_TOKEN}", "--workers", "2",
    ]
    # This file is the hooks module; its imports (`live`) need tests/ on the path.
    tests = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                          os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "SCHEMATHESIS_HOOKS": __file__, "PYTHONPATH": tests}
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=240)
    output = run.stdout + run.stderr
    cases = re.search(r"(\d+) generated.*", output)
    print(f"\nschemathesis: {cases.group(0) if cases else 'no test cases'}")
    server_log.seek(0)
    assert run.returncode == 0, output[-20_000:] + "\n\nserver output:\n" + server_log.read()[-10_000:]
    assert cases and int(cases.group(1)) > 100, output[-5_000:]
