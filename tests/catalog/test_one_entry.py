"""Adding a facet is one catalog entry: a copy of the project gains a "Record format" facet by an
edit of `indexer/catalog/` alone, and the search core counts and filters it, the API takes it,
OpenAPI documents it, the page lists it, the widget offers it and its served configuration
carries it, and the CLI filters by it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow

# The whole change: a field for the study's record format, and a facet over it.
FIELD = '    Field("source_format", "keyword", lambda s: s.source_format),\n'
FACET = '    Facet("format", "source_format", "Record format", "record formats", TextKind(), "xml"),\n'

CHECK = r"""
import json, sys
from click.testing import CliRunner
from indexer import build_index, open_index
from indexer.cli import main
from webapp import create_app

corpus, path = sys.argv[1], sys.argv[2]
build_index([corpus], path)
index = open_index(path)
everything = index.search()
counted = {item["value"]: item["count"] for item in everything.facets["format"]}
narrowed = index.search(filters={"format": ["api_v2"]}).total
client = create_app(index_path=path).test_client()
api = client.get("/api/search", query_string={"format": "api_v2"}).json
parameters = {p["name"] for p in client.get("/api/openapi.json").json["paths"]["/api/search"]["get"]["parameters"]}
page = client.get("/", query_string={"format": "api_v2"}).get_data(as_text=True)
script = client.get("/widget.js").get_data(as_text=True)
docs = client.get("/widget").get_data(as_text=True)
embed = client.get("/embed", query_string={"format": "api_v2"}).status_code
cli = CliRunner().invoke(main, ["search", "--index", path, "--json", "--filter", "format=api_v2"])
print(json.dumps({
    "counted": counted, "narrowed": narrowed, "api_total": api["total"],
    "documented": "format" in parameters, "page_heading": "<h2>Record format</h2>" in page,
    "script": '"format":{"list":false' in script, "docs": "data-format</code>" in docs,
    "embed": embed, "cli_total": json.loads(cli.output)["total"],
}))
"""


def _insert_before_closing(path: Path, anchor: str, line: str) -> None:
    """Add `line` as the last entry of the tuple that `anchor` opens."""
    text = path.read_text(encoding="utf-8")
    start = text.index(anchor)
    end = text.index("\n)\n", start)
    path.write_text(text[:end + 1] + line + text[end + 1:], encoding="utf-8")


def test_a_new_facet_is_one_catalog_entry(corpus_dir, tmp_path):
    project = tmp_path / "project"
    for package in ("indexer", "webapp"):
        shutil.copytree(PROJECT_ROOT / package, project / package,
                        ignore=shutil.ignore_patterns("__pycache__", "sample_data"))
    catalog = project / "indexer" / "catalog"
    _insert_before_closing(catalog / "fields.py", "FIELDS = (", FIELD)
    _insert_before_closing(catalog / "facets.py", "FACETS = (", FACET)
    changed = sorted(str(path.relative_to(project)) for path in project.rglob("*.py")
                     if path.read_bytes() != (PROJECT_ROOT / path.relative_to(project)).read_bytes())
    assert changed == ["indexer/catalog/facets.py", "indexer/catalog/fields.py"]

    environment = {**os.environ, "PYTHONPATH": str(project)}  # the copy, not the installed project
    run = subprocess.run([sys.executable, "-c", CHECK, str(corpus_dir), str(tmp_path / "index")],
                         capture_output=True, text=True, env=environment, cwd=project, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(found["counted"]) == {"api_v2", "text"}
    assert found["narrowed"] == found["counted"]["api_v2"] == found["api_total"] == found["cli_total"]
    assert found["documented"] and found["page_heading"] and found["script"] and found["docs"]
    assert found["embed"] == 200
