"""What meaning search costs (`python -m benchmarks.semantic --help`), a module per measure:
`encoder` (sentence encoder throughput and query latency), `vectors` (the real vector fill
and the synthetic vectors of larger scales), `latency` (the query mix in each search mode),
`probe` (a fresh process: loading the vectors, its memory, the dense scan), `extrapolation`
(500k figures from the measured ones), `report` (semantic.md and semantic.json) and `run`
(the options and the whole run).
"""
