"""The one boundary with Whoosh's internals: trialsearch's posting format (`codec`), the array
search core's reads of Whoosh's storage (`storage`).

Every private Whoosh name trialsearch relies on (attributes below Whoosh's public API, and the
private codec classes it subclasses) is used in this package and nowhere else, so a Whoosh
release that changes them breaks this package alone, and its canary tests (`tests/whoosh/`)
say which name changed. The layers above use Whoosh's public API (schema, analysis, query
parsing, searching) and this package.
"""
