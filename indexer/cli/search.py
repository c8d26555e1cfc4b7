"""`trialsearch search`: ranked results with highlighted snippets in the terminal, or JSON, or
every result as CSV or JSON Lines (the web app's downloads, `indexer.search.export`)."""

from __future__ import annotations

import html
import json
import re

import click
from click.core import ParameterSource

from ..catalog.fields import FIELD_ALIASES
from ..search import MAX_PER_PAGE, MODES, SORTS, SearchIndex, SearchRequest, open_index
from ..search.export import EXPORT_LIMIT, WRITERS, matching_studies, rows
from .main import index_option, json_option, plural

_MARK = re.compile(r"<mark[^>]*>(.*?)</mark>", re.S)
STUDY_PATH = "/study/{}"  # a study's page in the web app (webapp/pages.py), below --base-url


def _terminal_snippet(marked_html: str) -> str:
    """Highlights are HTML; show them on a terminal in bold."""
    bolded = _MARK.sub(lambda m: click.style(m.group(1), bold=True, fg="yellow"), marked_html)
    return html.unescape(bolded)


def _filter_map(ctx, param, items: tuple[str, ...]) -> dict[str, list[str]]:
    """`--filter NAME=VALUE` options as a search request takes them: name -> values."""
    filters: dict[str, list[str]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not value:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--filter")
        filters.setdefault(name.strip(), []).append(value.strip())
    return filters


# The search filters, for `search` and `match`.
filter_option = click.option(
    "--filter", "filters", multiple=True, metavar="NAME=VALUE", callback=_filter_map,
    help="Filter (repeatable), e.g. status=RECRUITING, phase=2, country=US, near=Boston (or "
         "near='Paris, TX', near=42.36,-71.06), radius=50, age=70, sex=female. See the README.")


@click.command()
@click.argument("query", default="")
@index_option
@click.option("--limit", "-n", default=SearchRequest.per_page, show_default=True,
              type=click.IntRange(1, MAX_PER_PAGE), help="Number of results.")
@click.option("--page", default=SearchRequest.page, show_default=True, type=click.IntRange(min=1))
@click.option("--field", "fields", multiple=True, type=click.Choice(list(FIELD_ALIASES)),
              help="Search only this field (repeatable): title, summary, condition, ...")
@filter_option
@click.option("--sort", type=click.Choice(list(SORTS)), default=SearchRequest.sort, show_default=True,
              help="distance: nearest site first (needs near=).")
@click.option("--mode", type=click.Choice(MODES),
              help="How studies match: keyword (they hold the words), semantic (their meaning "
                   "is nearest; plain words only) or hybrid (both, fused). [default: hybrid "
                   "where the index has study vectors, else keyword]")
@click.option("--format", "output", type=click.Choice(["text", *WRITERS]), default="text",
              show_default=True,
              help=f"csv or jsonl: every result, up to {EXPORT_LIMIT:,}, in the columns of the web "
                   "app's downloads (--limit and --page do not apply).")
@click.option("--base-url", metavar="URL",
              help="With --format csv or jsonl: where the web app is served "
                   "(https://trials.example.org), for the URL column (empty without it).")
@json_option
@click.pass_context
def search(ctx, query, index_path, limit, page, fields, filters, sort, mode, output, base_url, as_json):
    """Search the index and print ranked results with highlighted snippets.

    \b
    Query syntax:
        exosomes                         words in title, conditions, summary, ...
        title:cirrhosis status:recruiting   field scopes
        "mesenchymal stem cells"         phrase
        exo*   exosme~   -mice   A OR B  prefix, fuzzy, exclusion, boolean
        first_posted:[2020 to 2022]      date range

    \b
    By meaning as well as words (studies tagged "(meaning)" do not hold the words):
        trialsearch search "heart attack" --mode hybrid

    \b
    Near me and for me:
        trialsearch search covid --filter status=recruiting --filter near="Boston, MA" \\
            --filter radius=50 --filter age=70 --filter sex=female --sort distance

    \b
    Every result, for a spreadsheet or a script:
        trialsearch search exosomes --format csv > exosomes.csv
    """
    _check_output(ctx, output, as_json, base_url)
    request = SearchRequest(q=query, fields=fields, filters=filters, sort=sort, page=page,
                            per_page=limit, mode=mode)
    if output != "text":
        _export(open_index(index_path), request, output, base_url)
        return
    result = open_index(index_path).search(request)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(f"{plural(result.total, 'study matches', 'studies match')} "
               f"({result.mode}, {result.took_ms:.1f} ms).")
    if result.place and result.place["label"]:  # a place typed by name: which one it was
        click.echo(f"Near: {result.place['label']}")
    for notice in result.notices:
        click.echo(f"Note: {notice}", err=True)
    if result.expansions:
        click.echo(f"Also searched: {'; '.join(result.expansions)}", err=True)
    if result.suggestion:
        click.echo(f"Did you mean: {result.suggestion}")
    for nct_id in result.unknown_nct_ids:
        click.echo(f"Note: {nct_id} is not in this index; see https://clinicaltrials.gov/study/{nct_id}",
                   err=True)
    for offer in result.suggested_filters:
        click.echo(f"Filter instead: --filter {offer['name']}={offer['value']} (for \"{offer['words']}\")",
                   err=True)
    for rank, hit in enumerate(result.hits, start=(page - 1) * limit + 1):
        click.echo()
        tag = "  (meaning)" if hit.matched_by == "meaning" else ""
        click.echo(f"{rank}. {hit.nct_id}  [{hit.status or 'status not given'}]  "
                   f"{_terminal_snippet(hit.highlights.get('title', hit.title))}{tag}")
        if hit.sponsor:
            click.echo(f"   {hit.sponsor}")
        if hit.nearest_site:
            site = hit.nearest_site
            place = ", ".join(filter(None, (site[k] for k in ("facility", "city", "country"))))
            approximate = " (from the city's location)" if site["geocoded"] else ""
            click.echo(f"   Nearest site: {place}, {site['distance_km']:,.1f} km{approximate}")
        summary = hit.highlights.get("summary")
        if summary:
            click.echo(f"   {_terminal_snippet(summary)}")


def _check_output(ctx: click.Context, output: str, as_json: bool, base_url: str | None) -> None:
    """Refuse options that do not go together: --json or paging with an export, a base URL
    without one."""
    if output == "text":
        if base_url:
            raise click.UsageError("--base-url goes with --format csv or jsonl")
        return
    if as_json:
        raise click.UsageError(f"--json and --format {output} are two outputs; give one")
    for name in ("limit", "page"):
        if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT:
            raise click.UsageError(f"--format {output} writes every result (up to "
                                   f"{EXPORT_LIMIT:,}); --{name} pages the text and --json output")


def _export(index: SearchIndex, request: SearchRequest, output: str, base_url: str | None) -> None:
    """Write every study `request` finds (up to EXPORT_LIMIT) to stdout as `output`; what was
    left out, and the notices, to stderr."""
    result, studies = matching_studies(index, request)
    for notice in result.notices:
        click.echo(f"Note: {notice}", err=True)
    if result.total > EXPORT_LIMIT:
        click.echo(f"Note: {result.total:,} studies match; the first {EXPORT_LIMIT:,} are written.",
                   err=True)
    home = base_url.rstrip("/") if base_url else None
    for chunk in WRITERS[output](rows(studies, lambda nct_id: home and home + STUDY_PATH.format(nct_id))):
        click.echo(chunk, nl=False)
