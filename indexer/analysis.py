"""Where indexes built before the package was arranged by layer (2026-12) look for their
analyzers: Whoosh pickles each field's analyzer by module path (`indexer.analysis`), so
without this name such an index could not be opened. New indexes record
`indexer.index.analysis`."""

from .index.analysis import BiomedicalTokenizer, FoldStopStemFilter

__all__ = ["BiomedicalTokenizer", "FoldStopStemFilter"]
