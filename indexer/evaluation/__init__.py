"""Relevance evaluation on TREC Clinical Trials topics, a module per concern, lowest first:
`topics` (reading topics, qrels and short queries), `rankers` (BM25F and the live search's
modes, on a description's key terms: `indexer.search.keyterms`, which patient mode shares),
`fts5` and `baseline` (the SQLite FTS5 baseline; `fts5` is shared with the benchmarks),
`encoders` and `rerankers` (pseudo-relevance feedback and the eval-only MiniLM hybrid),
`measures` (ir-measures) and `coverage`, and `evaluate` (the report and the run that ties
them together).

Nothing is imported here: the benchmarks' FTS5 peer imports `fts5` alone, in a process whose
memory it measures."""
