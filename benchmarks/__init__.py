"""trialsearch's benchmark suite: scaled corpora from the real records, trialsearch against
SQLite FTS5 and tantivy on the same records and queries. Run `python -m benchmarks --help`.

Modules: `generate` (corpora), `queries` (the query mix), `peers` (the engines),
`build_worker` (one build in its own process), `measure` (builds, latency, updates),
`serving` (HTTP under gunicorn), `report` (tables, JSON, baseline check), `__main__` (CLI);
the `semantic` package measures meaning search (encoder, vector fill, keyword/hybrid/semantic
modes, the dense scan up to 500k vectors), a module per measure: `python -m benchmarks.semantic
--help`.
"""
