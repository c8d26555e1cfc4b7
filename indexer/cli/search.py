"""`trialsearch search`: ranked results with highlighted snippets in the terminal, or JSON."""

from __future__ import annotations

import html
import json
import re

import click

from ..catalog.fields import FIELD_ALIASES
from ..search import MAX_PER_PAGE, MODES, SORTS, SearchRequest, open_index
from .main import index_option, json_option, plural

_MARK = re.compile(r"<mark[^>]*>(.*?)</mark>", re.S)
# A hit's tag when meaning had a part in its match (words alone, the usual case, go untagged).
MATCH_TAGS = {"meaning": "(meaning)", "both": "(words + meaning)"}


def _terminal_snippet(marked_html: str) -> str:
    """Highlights are HTML; show them on a terminal in bold."""
    bolded = _MARK.sub(lambda m: click.style(m.group(1), bold=True, fg="yellow"), marked_html)
    return html.unescape(bolded)


@click.command()
@click.argument("query", default="")
@index_option
@click.option("--limit", "-n", default=SearchRequest.per_page, show_default=True,
              type=click.IntRange(1, MAX_PER_PAGE), help="Number of results.")
@click.option("--page", default=SearchRequest.page, show_default=True, type=click.IntRange(min=1))
@click.option("--field", "fields", multiple=True, type=click.Choice(list(FIELD_ALIASES)),
              help="Search only this field (repeatable): title, summary, condition, ...")
@click.option("--filter", "filters", multiple=True, metavar="NAME=VALUE",
              help="Filter (repeatable), e.g. status=RECRUITING, phase=2, country=US, "
                   "near=Boston (or near='Paris, TX', near=42.36,-71.06), radius=50, age=70, "
                   "sex=female. See the README.")
@click.option("--sort", type=click.Choice(list(SORTS)), default=SearchRequest.sort, show_default=True,
              help="distance: nearest site first (needs near=).")
@click.option("--mode", type=click.Choice(MODES),
              help="How studies match: keyword (they hold the words), semantic (their meaning "
                   "is nearest; plain words only) or hybrid (both, fused). [default: hybrid "
                   "where the index has study vectors, else keyword]")
@json_option
def search(query, index_path, limit, page, fields, filters, sort, mode, as_json):
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
    """
    filter_map: dict[str, list[str]] = {}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep or not value:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--filter")
        filter_map.setdefault(name.strip(), []).append(value.strip())
    request = SearchRequest(q=query, fields=fields, filters=filter_map, sort=sort, page=page,
                            per_page=limit, mode=mode)
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
    for rank, hit in enumerate(result.hits, start=(page - 1) * limit + 1):
        click.echo()
        tag = f"  {MATCH_TAGS[hit.matched_by]}" if hit.matched_by in MATCH_TAGS else ""
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
