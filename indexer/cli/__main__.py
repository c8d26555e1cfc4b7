"""`python -m indexer.cli`: the `trialsearch` command, for processes started by it."""

from . import main

main()
