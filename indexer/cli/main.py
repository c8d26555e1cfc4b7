"""The `trialsearch` click group and what its commands share: options, progress bars, reports,
plurals, and library errors turned into `Error: …` with exit code 2.

Exit codes: 0 ok, 1 records were skipped under --strict, 2 usage or fatal error.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterable

import click
from tqdm import tqdm

from ..errors import TrialsearchError
from ..index.layout import DEFAULT_INDEX
from ..index.store import IndexReport

MAX_LISTED_PROBLEMS = 20

# Commands that live beside the library code they wrap, imported only when used.
LAZY_COMMANDS: dict[str, str] = {
    "eval": "indexer.cli.evaluation:eval_command",
    "fetch": "indexer.cli.registry:fetch_command",
    "sync": "indexer.cli.registry:sync_command",
    "serve": "indexer.cli.serve:serve_command",
    "vectors": "indexer.cli.vectors:vectors_command",
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


def progress_bar(quiet: bool, desc: str) -> tqdm:
    """A tqdm bar on stderr, shown only on a terminal and never with --quiet or --json."""
    # disable=None: tqdm shows the bar only on a terminal.
    return tqdm(desc=desc, unit=" records", disable=quiet or None, file=sys.stderr,
                mininterval=0.5, dynamic_ncols=True)


def print_report(report: IndexReport, verb: str, as_json: bool, strict: bool) -> None:
    """Print what a build or update did (or its JSON); exit 1 on skips under --strict."""
    rate = report.indexed / report.seconds if report.seconds else 0.0
    print_outcome(report, f"{verb} {plural(report.indexed, 'study', 'studies')} in "
                           f"{report.seconds:.2f} s ({rate:,.0f} records/s) into "
                           f"{report.generation}.", as_json, strict)


def print_outcome(report: IndexReport, summary: str, as_json: bool, strict: bool,
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
