"""Configuration from environment variables, with defaults a demanding user would pick.

| variable | config key | default |
| --- | --- | --- |
| TRIALSEARCH_INDEX | INDEX_PATH | index_data |
| TRIALSEARCH_SOURCES | SOURCES (os.pathsep-separated) | the bundled sample corpus |
| TRIALSEARCH_ADMIN_TOKEN | ADMIN_TOKEN | unset: admin endpoints disabled |
| TRIALSEARCH_MAX_PER_PAGE | MAX_PER_PAGE | 100 (never above the search core's 100) |
| TRIALSEARCH_WIDGET_ORIGINS | WIDGET_ORIGINS (comma-separated) | unset: any origin may read the API |
| TRIALSEARCH_PROXIES | PROXIES | 0: no reverse proxy's X-Forwarded-* headers are trusted |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from indexer import DEFAULT_INDEX, SAMPLE_DATA
from indexer.search import MAX_PER_PAGE

MAX_REQUEST_BYTES = 1024 * 1024  # admin bodies are tiny; anything bigger is refused with 413


def _origins(value: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())


def _whole_number(environ: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(environ.get(name, default))
    except ValueError:
        raise ValueError(f"{name} must be a whole number") from None


def config_from_env(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The app's configuration read from `environ` (see the module docstring for names)."""
    max_per_page = _whole_number(environ, "TRIALSEARCH_MAX_PER_PAGE", MAX_PER_PAGE)
    sources = environ.get("TRIALSEARCH_SOURCES", "")
    return {
        "INDEX_PATH": environ.get("TRIALSEARCH_INDEX", DEFAULT_INDEX),
        "SOURCES": [s for s in sources.split(os.pathsep) if s] or [str(SAMPLE_DATA)],
        "ADMIN_TOKEN": environ.get("TRIALSEARCH_ADMIN_TOKEN") or None,
        "MAX_PER_PAGE": max(1, min(max_per_page, MAX_PER_PAGE)),
        "WIDGET_ORIGINS": _origins(environ.get("TRIALSEARCH_WIDGET_ORIGINS", "")),
        "MAX_CONTENT_LENGTH": MAX_REQUEST_BYTES,
        "PROXIES": max(0, _whole_number(environ, "TRIALSEARCH_PROXIES", 0)),
    }
