"""The `fetch` and `sync` commands: thin click layers over `fetch_studies` and `sync_index`."""

from __future__ import annotations

import json
import sys

import click
from tqdm import tqdm

from ..registry.client import API_URL_ENV, DEFAULT_API_URL, DEFAULT_RATE, MAX_PAGE_SIZE, STATUSES
from ..registry.fetch import FetchReport, fetch_studies
from ..registry.sync import sync_index
from .main import index_option, json_option, print_report, quiet_option, strict_option, wait_option
from .vectors import fill_after_write, vectors_option

api_url_option = click.option(
    "--api-url", envvar=API_URL_ENV, default=DEFAULT_API_URL, show_default=True,
    help=f"ClinicalTrials.gov API v2 base URL, e.g. a mirror (or set {API_URL_ENV}).",
)
rate_option = click.option(
    "--rate", default=DEFAULT_RATE, show_default=True, type=click.FloatRange(min=0.1),
    help="Most requests per minute; stay near the service's pace of about 50.",
)
page_size_option = click.option(
    "--page-size", default=MAX_PAGE_SIZE, show_default=True,
    type=click.IntRange(1, MAX_PAGE_SIZE), help="Studies per request.",
)
since_option = click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
    help="Only studies whose last update was posted on or after this date.",
)


class _Bar:
    """A progress bar in studies, with a rate, and an ETA once a total is known. It appears on
    first use (on a terminal only), so a phase that has nothing to do shows no bar, and then
    closes the bar of the phase it `follows`."""

    def __init__(self, quiet: bool, desc: str, follows: _Bar | None = None) -> None:
        self.quiet, self.desc, self.follows, self.bar = quiet, desc, follows, None

    def __call__(self, count: int, expected: int | None = None) -> None:
        if self.bar is None:
            if self.follows:
                self.follows.close()
            # disable=None: tqdm shows the bar only on a terminal.
            self.bar = tqdm(desc=self.desc, unit=" studies", total=expected,
                            disable=self.quiet or None, file=sys.stderr, mininterval=0.5,
                            dynamic_ncols=True)
        elif expected is not None and self.bar.total != expected:
            self.bar.total = expected
        self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _retries(count: int) -> str:
    return f"{count} retr{'y' if count == 1 else 'ies'}"


def _fetch_summary(report: FetchReport) -> str:
    if report.resumed and not report.pages:
        return (f"Nothing to fetch: {report.out_dir} already holds the complete result "
                f"({report.total_studies} studies in {len(report.files)} files).")
    resumed = f" (resumed; {report.total_studies} in all)" if report.resumed else ""
    return (f"Fetched {report.studies} studies{resumed} in {report.pages} pages into "
            f"{report.out_dir} ({report.seconds:.1f} s, {_retries(report.retries)}).")


@click.command(name="fetch")
@click.option("--query", help="Search expression (the API's query.term), e.g. 'exosomes'.")
@click.option("--condition", help="Condition or disease (the API's query.cond).")
@click.option("--status", "statuses", multiple=True, metavar="STATUS",
              type=click.Choice(STATUSES, case_sensitive=False),
              help="Overall status, repeatable: RECRUITING, COMPLETED, ...")
@since_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the studies-NNNN.jsonl files (re-run to resume).")
@page_size_option
@rate_option
@api_url_option
@quiet_option
@json_option
def fetch_command(query, condition, statuses, since, out_dir, page_size, rate, api_url, quiet,
                  as_json):
    """Download studies from the ClinicalTrials.gov API into JSON Lines files that `build`
    and `update` read. An interrupted fetch resumes when run again with the same options.

    \b
    Example:
        trialsearch fetch --condition 'lung cancer' --status recruiting --out lung/
        trialsearch build lung/
    """
    bar = _Bar(quiet or as_json, "Fetching")
    try:
        report = fetch_studies(out_dir, query=query, condition=condition, statuses=statuses,
                               since=since.date() if since else None, api_url=api_url,
                               page_size=page_size, rate_per_minute=rate, progress=bar)
    finally:
        bar.close()
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else _fetch_summary(report))


@click.command(name="sync")
@index_option
@since_option
@page_size_option
@rate_option
@api_url_option
@strict_option
@wait_option
@vectors_option
@quiet_option
@json_option
def sync_command(index_path, since, page_size, rate, api_url, strict, wait, vectors, quiet, as_json):
    """Upsert the studies updated on ClinicalTrials.gov since the last sync.

    The first sync starts from the day before the index was built; pass --since when its
    records are older. The sync point is recorded in the index folder only once the update
    succeeded, so an interrupted sync is safe to run again (it resumes its download).

    \b
    Example (a daily cron line):
        17 5 * * *  trialsearch sync --index /srv/trialsearch/index_data --quiet
    """
    fetch_bar = _Bar(quiet or as_json, "Fetching")
    index_bar = _Bar(quiet or as_json, "Updating", follows=fetch_bar)
    try:
        report = sync_index(index_path, since=since.date() if since else None, api_url=api_url,
                            page_size=page_size, rate_per_minute=rate, progress=fetch_bar,
                            index_progress=index_bar, wait=wait)
    finally:
        fetch_bar.close()
        index_bar.close()
    try:
        _print_sync(report, strict, as_json)
    finally:  # the updated studies' vectors, once the index is live
        if report.index and report.index.indexed:
            fill_after_write(index_path, vectors, quiet or as_json)


def _print_sync(report, strict: bool, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        if strict and report.index and report.index.skipped:
            sys.exit(1)
        return
    fetched = report.fetch
    click.echo(f"Fetched {fetched.total_studies} studies updated since {report.since} "
               f"({report.since_from}) in {fetched.seconds:.1f} s, {_retries(fetched.retries)}.")
    if report.index:
        print_report(report.index, "Updated", False, strict)
    click.echo(f"Next sync asks for studies updated since {report.next_since}.")
