"""The name indexes written before the Whoosh boundary (`indexer/whoosh/`) gave their posting
format: their tables of contents pickled the codec as `indexer.index.codec.TrialCodec`, so the
name stays importable here and those indexes open as they are (as `indexer/analysis.py` keeps
the analyzers' first name)."""

from ..whoosh.codec import TrialCodec

__all__ = ["TrialCodec"]
