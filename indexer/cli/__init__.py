"""The `trialsearch` command line: a thin click layer over the library functions, one module
per command family (`index`, `search`, `match`, `registry`, `evaluation`, `serve`)."""

from .index import build, delete, stats, synonyms, update
from .main import main
from .match import match
from .search import search

for _command in (build, update, delete, search, match, stats, synonyms):
    main.add_command(_command)

__all__ = ["main"]
