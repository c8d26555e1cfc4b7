"""Commands that write or describe the index: build, update, delete, stats, synonyms."""

from __future__ import annotations

import json
import os

import click

from .. import SAMPLE_DATA
from ..index.store import build_index, delete_studies, update_index
from ..search import open_index
from .main import (
    index_option,
    json_option,
    plural,
    print_outcome,
    print_report,
    progress_bar,
    quiet_option,
    require_existing,
    strict_option,
    wait_option,
)
from .vectors import fill_after_write, vectors_option

procs_option = click.option(
    "--procs", default=min(os.cpu_count() or 1, 8), show_default="one per CPU, at most 8",
    type=click.IntRange(1, 16),
    help="Analysis processes working beside the one reading the records (1: everything in "
         "one process).")


@click.command()
@click.argument("sources", nargs=-1, type=click.Path())
@index_option
@procs_option
@click.option("--synonyms", type=click.Path(exists=True, dir_okay=False),
              help="Synonym file adding or vetoing abbreviation pairs (see `synonyms --help`).")
@click.option("--cluster", "address", metavar="ADDRESS",
              help="Analyze on the workers of the Dask cluster at ADDRESS (tcp://host:8786; the "
                   "'cluster' extra), and compute the vectors there too.")
@strict_option
@wait_option
@vectors_option
@quiet_option
@json_option
def build(sources, index_path, procs, synonyms, address, strict, wait, vectors, quiet, as_json):
    """Rebuild the index from SOURCES (files or folders, any supported format).

    The new index is written beside the live one and switched in only when complete; a failed
    build leaves the old index serving. Without SOURCES, builds the bundled sample (about 300
    real ClinicalTrials.gov studies). Once it is live, the vectors of new or changed studies
    are computed for meaning search (see `trialsearch vectors`).

    \b
    Example:
        trialsearch build ../shared/data --index index_data
    """
    sources = sources or (str(SAMPLE_DATA),)
    require_existing(sources)
    cluster = None
    if address:
        from ..cluster import Cluster

        cluster = Cluster(address)
    try:
        with progress_bar(quiet or as_json, "Indexing") as bar:
            report = build_index(sources, index_path, procs=procs, progress=bar.update, wait=wait,
                                 synonyms=synonyms,
                                 executor=cluster.executor if cluster is not None else None)
        try:
            print_report(report, "Indexed", as_json, strict)
        finally:  # under --strict a skipped record exits 1; the live index still gets its vectors
            fill_after_write(index_path, vectors, quiet or as_json, cluster)
    finally:
        if cluster is not None:
            cluster.close()


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@index_option
@procs_option
@strict_option
@wait_option
@vectors_option
@quiet_option
@json_option
def update(sources, index_path, procs, strict, wait, vectors, quiet, as_json):
    """Add or replace (by NCT ID) the studies in SOURCES in the live index.

    \b
    Example:
        trialsearch update new_records/NCT05871463.json
    """
    require_existing(sources)
    with progress_bar(quiet or as_json, "Updating") as bar:
        report = update_index(sources, index_path, procs=procs, progress=bar.update,
                              wait=wait)
    try:
        print_report(report, "Updated", as_json, strict)
    finally:
        fill_after_write(index_path, vectors, quiet or as_json)


@click.command()
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
    print_outcome(report, f"Deleted {plural(report.deleted, 'study', 'studies')} from "
                           f"{report.generation}.", as_json, strict, skipped="Not deleted")


@click.command()
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
    vectors = info["vectors"]
    click.echo(f"Vectors:    {vectors['studies']} of {info['documents']} studies"
               + (f" ({vectors['model']})" if vectors["model"] else "")
               + (f"; meaning search is off: {vectors['meaning_unavailable']}"
                  if vectors["meaning_unavailable"] else ""))
    click.echo(f"Fields:     {', '.join(info['fields'])}")


@click.command()
@click.argument("short_forms", nargs=-1)
@index_option
@json_option
def synonyms(short_forms, index_path, as_json):
    """List the pairs the index expands, each with its source: abbreviations mined at build
    time, the `build --synonyms FILE` additions (vetoes remove pairs), and condition synonyms
    from the registry's MeSH terms as found in the studies' own words. Give SHORT_FORMS (or
    phrases) to list only those.

    \b
    Synonym file format (one pair per line, # starts a comment):
        MSC = mesenchymal stem cell     add a pair
        !LC = lung cancer               veto one pair
        !CT                             veto every pair for CT
    """
    listing = open_index(index_path).synonyms()
    if short_forms:
        wanted = {" ".join(s.lower().split()) for s in short_forms}
        listing = {key: entries for key, entries in listing.items() if key.lower() in wanted}
    if as_json:
        click.echo(json.dumps(listing, indent=2, ensure_ascii=False))
        return
    for key, entries in listing.items():
        click.echo(f"{key}\t{' | '.join(e['synonym'] + ' (' + e['source'] + ')' for e in entries)}")
    abbreviations = sum(1 for entries in listing.values() if entries[0]["kind"] != "mesh")
    click.echo(f"{plural(abbreviations, 'abbreviation')}, "
               f"{plural(len(listing) - abbreviations, 'condition phrase')}.", err=True)
