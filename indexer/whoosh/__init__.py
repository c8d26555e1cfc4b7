"""The one boundary with Whoosh's internals: trialsearch's posting format (`codec`), segments
written below Whoosh's writer and committed (`segments`), a generation opened one way and the
record each document stores decoded (`generation`), the array search core's reads of Whoosh's
storage (`storage`), and Whoosh's "did you mean" over candidates found elsewhere (`spelling`).

Every private Whoosh name trialsearch relies on (attributes below Whoosh's public API, and the
private codec classes it subclasses) is used in this package and nowhere else, so a Whoosh
release that changes them breaks this package alone, and its canary
(`tests/whoosh/test_canary.py`, which finds those names in this package's code) says which
name changed. The layers above use Whoosh's public API (schema, analysis, query parsing,
searching) and this package.
"""
