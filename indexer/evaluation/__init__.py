"""Relevance evaluation on TREC Clinical Trials topics: rankers, judgments and measures
(`evaluate`), sentence encoders for the hybrid ranker (`encoders`), and the SQLite FTS5 baseline
the benchmarks share (`fts5`)."""
