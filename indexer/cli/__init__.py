"""The `trialsearch` command line: a thin click layer over the library functions, one module
per command family (`index`, `search`, `registry`, `evaluation`, `serve`)."""

from .index import build, delete, stats, synonyms, update
from .main import main
from .search import search

for _command in (build, update, delete, search, stats, synonyms):
    main.add_command(_command)

__all__ = ["main"]
