"""The `trialsearch` command line: a thin click layer over the library functions.

Exit codes: 0 ok, 1 records were skipped under --strict, 2 usage or fatal error.
"""

from __future__ import annotations

import html
import importlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Iterable

import click
from tqdm import tqdm

from .errors import TrialsearchError
from .search import open_index
from .store import IndexReport, build_index, delete_studies, update_index

SAMPLE_DATA = Path(__file__).parent / "sample_data"
DEFAULT_INDEX = "index_data"
MAX_LISTED_PROBLEMS = 20

# Commands that live beside the library code they wrap, imported only when used.
LAZY_COMMANDS: dict[str, str] = {
    "eval": "indexer.eval_cli:eval_command",
    "fetch": "indexer.ctgov_cli:fetch_command",
    "sync": "indexer.ctgov_cli:sync_command",
    "serve": "webapp.serve:serve_command",
}


class FatalError(click.ClickException):
    """A library error shown as `Error: ...` with exit code 2."""

    exit_code = 2


class LazyGroup(click.Group):
    """A click group whose LAZY_COMMANDS are imported on first use (fast start-up)."""

    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS:
            module, attr = LAZY_COMMANDS[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TrialsearchError as exc:
            raise FatalError(str(exc)) from exc


index_option = click.option(
    "--index", "index_path", envvar="TRIALSEARCH_INDEX", default=DEFAULT_INDEX, show_default=True,
    type=click.Path(file_okay=False), help="Index directory (or set TRIALSEARCH_INDEX).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
wait_option = click.option(
    "--wait", default=0.0, show_default=True, type=click.FloatRange(min=0),
    help="Seconds to wait for another build/update to release the index lock.",
)
strict_option = click.option("--strict", is_flag=True, help="Exit 1 if any record was skipped.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")


@click.group(cls=LazyGroup)
@click.version_option(package_name="trialsearch")
def main():
    """Search clinical-trial study records.

    \b
    Example:
        trialsearch build records/           # index a folder of studies
        trialsearch search 'exosomes status:recruiting'
    """


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """The count and the noun in the right number: `1 study`, `2 studies` (default: noun + s)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def require_existing(sources: Iterable[str]) -> None:
    """Refuse, before any work, a SOURCE that does not exist (a typo would otherwise surface
    as 'no valid study record', or not at all in an update)."""
    for source in sources:
        if not os.path.exists(source):
            raise FatalError(f"no such file or folder: {source}")


def _progress(quiet: bool, desc: str) -> tqdm:
    # disable=None: tqdm shows the bar only on a terminal.
    return tqdm(desc=desc, unit=" records", disable=quiet or None, file=sys.stderr,
                mininterval=0.5, dynamic_ncols=True)


def print_report(report: IndexReport, verb: str, as_json: bool, strict: bool) -> None:
    """Print what a build or update did (or its JSON); exit 1 on skips under --strict."""
    rate = report.indexed / report.seconds if report.seconds else 0.0
    _print_outcome(report, f"{verb} {plural(report.indexed, 'study', 'studies')} in "
                           f"{report.seconds:.2f} s ({rate:,.0f} records/s) into "
                           f"{report.generation}.", as_json, strict)


def _print_outcome(report: IndexReport, summary: str, as_json: bool, strict: bool,
                   skipped: str = "Skipped") -> None:
    """Print `summary` and the problems, the lost ones headed `skipped` (or the report as
    JSON); exit 1 on those under --strict."""
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(summary)
        for title, problems in ((skipped, report.skipped), ("Ignored", report.ignored)):
            if problems:
                click.echo(f"{title} {len(problems)}:", err=True)
                for problem in problems[:MAX_LISTED_PROBLEMS]:
                    click.echo(f"  {problem}", err=True)
                if len(problems) > MAX_LISTED_PROBLEMS:
                    click.echo(f"  ... and {len(problems) - MAX_LISTED_PROBLEMS} more "
                               "(--json lists all)", err=True)
    if strict and report.skipped:
        sys.exit(1)


@main.command()
@click.argument("sources", nargs=-1, type=click.Path())
@index_option
@click.option("--procs", default=1, show_default=True, type=click.IntRange(1, 16),
              help="Writer processes (Whoosh parallel segment writing).")
@click.option("--synonyms", type=click.Path(exists=True, dir_okay=False),
              help="Synonym file adding or vetoing abbreviation pairs (see `synonyms --help`).")
@strict_option
@wait_option
@quiet_option
@json_option
def build(sources, index_path, procs, synonyms, strict, wait, quiet, as_json):
    """Rebuild the index from SOURCES (files or folders, any supported format).

    The new index is written beside the live one and switched in only when complete; a failed
    build leaves the old index serving. Without SOURCES, builds the bundled sample (about 300
    real ClinicalTrials.gov studies).

    \b
    Example:
        trialsearch build ../shared/data --index index_data
    """
    sources = sources or (str(SAMPLE_DATA),)
    require_existing(sources)
    with _progress(quiet or as_json, "Indexing") as bar:
        report = build_index(sources, index_path, procs=procs, progress=bar.update, wait=wait,
                             synonyms=synonyms)
    print_report(report, "Indexed", as_json, strict)


@main.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@index_option
@strict_option
@wait_option
@quiet_option
@json_option
def update(sources, index_path, strict, wait, quiet, as_json):
    """Add or replace (by NCT ID) the studies in SOURCES in the live index.

    \b
    Example:
        trialsearch update new_records/NCT05871463.json
    """
    require_existing(sources)
    with _progress(quiet or as_json, "Updating") as bar:
        report = update_index(sources, index_path, progress=bar.update, wait=wait)
    print_report(report, "Updated", as_json, strict)


@main.command()
@click.argument("nct_ids", nargs=-1, required=True)
@index_option
@strict_option
@wait_option
@json_option
def delete(nct_ids, index_path, strict, wait, as_json):
    """Remove studies by NCT ID (IDs not in the index are listed; exit 1 for them under --strict).

    \b
    Example:
        trialsearch delete NCT05871463
    """
    report = delete_studies(nct_ids, index_path, wait=wait)
    _print_outcome(report, f"Deleted {plural(report.deleted, 'study', 'studies')} from "
                           f"{report.generation}.", as_json, strict, skipped="Not deleted")


_MARK = re.compile(r"<mark[^>]*>(.*?)</mark>", re.S)


def _terminal_snippet(marked_html: str) -> str:
    """Highlights are HTML; show them on a terminal in bold."""
    bolded = _MARK.sub(lambda m: click.style(m.group(1), bold=True, fg="yellow"), marked_html)
    return html.unescape(bolded)


@main.command()
@click.argument("query", default="")
@index_option
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, 100),
              help="Number of results.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--field", "fields", multiple=True,
              help="Search only this field (repeatable): title, summary, condition, ...")
@click.option("--filter", "filters", multiple=True, metavar="FACET=VALUE",
              help="Filter by facet, e.g. status=RECRUITING, phase=PHASE2, year=2023.")
@click.option("--sort", type=click.Choice(["relevance", "last_update", "first_posted"]),
              default="relevance", show_default=True)
@json_option
def search(query, index_path, limit, page, fields, filters, sort, as_json):
    """Search the index and print ranked results with highlighted snippets.

    \b
    Query syntax:
        exosomes                         words in title, conditions, summary, ...
        title:cirrhosis status:recruiting   field scopes
        "mesenchymal stem cells"         phrase
        exo*   exosme~   -mice   A OR B  prefix, fuzzy, exclusion, boolean
        first_posted:[2020 to 2022]      date range
    """
    filter_map: dict[str, list[str]] = {}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep or not value:
            raise click.BadParameter(f"expected FACET=VALUE, got {item!r}", param_hint="--filter")
        filter_map.setdefault(name.strip(), []).append(value.strip())
    result = open_index(index_path).search(
        query, fields=list(fields) or None, filters=filter_map, sort=sort, page=page,
        per_page=limit,
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(f"{plural(result.total, 'study matches', 'studies match')} "
               f"({result.took_ms:.1f} ms).")
    for notice in result.notices:
        click.echo(f"Note: {notice}", err=True)
    if result.suggestion:
        click.echo(f"Did you mean: {result.suggestion}")
    for rank, hit in enumerate(result.hits, start=(page - 1) * limit + 1):
        click.echo()
        click.echo(f"{rank}. {hit.nct_id}  [{hit.status or 'status not given'}]  "
                   f"{_terminal_snippet(hit.highlights.get('title', hit.title))}")
        if hit.sponsor:
            click.echo(f"   {hit.sponsor}")
        summary = hit.highlights.get("summary")
        if summary:
            click.echo(f"   {_terminal_snippet(summary)}")


@main.command()
@index_option
@json_option
def stats(index_path, as_json):
    """Show document count, fields, last build and size on disk."""
    info = open_index(index_path).stats()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"Index:      {info['path']} ({info['generation']})")
    click.echo(f"Documents:  {info['documents']}")
    click.echo(f"Built:      {info['built_at']}")
    click.echo(f"Updated:    {info['updated_at'] or 'never'}")
    click.echo(f"Size:       {info['size_bytes'] / 1e6:.1f} MB")
    click.echo(f"Fields:     {', '.join(info['fields'])}")


@main.command()
@click.argument("short_forms", nargs=-1)
@index_option
@json_option
def synonyms(short_forms, index_path, as_json):
    """List the abbreviation pairs the index expands (mined at build time, plus the
    `build --synonyms FILE` additions and vetoes). Give SHORT_FORMS to list only those.

    \b
    Synonym file format (one pair per line, # starts a comment):
        MSC = mesenchymal stem cell     add a pair
        !LC = lung cancer               veto one pair
        !CT                             veto every pair for CT
    """
    pairs = open_index(index_path).abbreviations
    if short_forms:
        wanted = {s.upper() for s in short_forms}
        pairs = {short: forms for short, forms in pairs.items() if short in wanted}
    if as_json:
        click.echo(json.dumps(pairs, indent=2, ensure_ascii=False))
        return
    for short, forms in pairs.items():
        click.echo(f"{short}\t{' | '.join(forms)}")
    click.echo(f"{plural(len(pairs), 'abbreviation')}.", err=True)
