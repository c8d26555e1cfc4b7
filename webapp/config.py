"""Configuration from environment variables, with defaults a demanding user would pick.

| variable | config key | default |
| --- | --- | --- |
| TRIALSEARCH_INDEX | INDEX_PATH | index_data |
| TRIALSEARCH_SOURCES | SOURCES (os.pathsep-separated) | the bundled sample corpus |
| TRIALSEARCH_ADMIN_TOKEN | ADMIN_TOKEN | unset: admin endpoints disabled |
| TRIALSEARCH_MAX_PER_PAGE | MAX_PER_PAGE | 100 (never above the search core's 100) |
| TRIALSEARCH_WIDGET_ORIGINS | WIDGET_ORIGINS (comma-separated) | unset: any origin may read the API |
| TRIALSEARCH_PROXIES | PROXIES | 0: no reverse proxy's X-Forwarded-* headers are trusted |
| TRIALSEARCH_TILE_URL | TILE_URL | OpenStreetMap's tiles (`DEFAULT_TILE_URL`); empty: no tiles |
| TRIALSEARCH_TILE_ATTRIBUTION | TILE_ATTRIBUTION | OpenStreetMap's credit (HTML, on the map) |

The tile URL is a Leaflet URL template (`{z}`, `{x}`, `{y}`, and `{s}` for a subdomain), http
or https; study pages' Content Security Policy lets images come from its host alone. Without
tiles the study map still shows each site as a point.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from indexer import DEFAULT_INDEX, SAMPLE_DATA
from indexer.search import MAX_PER_PAGE

MAX_REQUEST_BYTES = 1024 * 1024  # admin bodies are tiny; anything bigger is refused with 413
# OpenStreetMap's own tile server: free for light use with this credit (its tile usage policy);
# a busy site sets its own provider.
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = ('&copy; <a href="https://www.openstreetmap.org/copyright">'
                            "OpenStreetMap</a> contributors")


def _origins(value: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())


def _whole_number(environ: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(environ.get(name, default))
    except ValueError:
        raise ValueError(f"{name} must be a whole number") from None


def tile_source(url: str) -> str:
    """The CSP source that allows images from tile URL template `url` (`https://*.tile.example`
    for `https://{s}.tile.example/{z}/{x}/{y}.png`); '' for no tiles. ValueError naming the
    variable when `url` is not an http(s) template with `{z}`, `{x}` and `{y}`."""
    if not url:
        return ""
    parts = urlsplit(url.replace("{s}.", "SUBDOMAIN."))
    host = parts.netloc.replace("SUBDOMAIN.", "*.")
    if (parts.scheme not in ("http", "https") or not re.fullmatch(r"(\*\.)?[\w.-]+(:\d+)?", host)
            or not all(key in url for key in ("{z}", "{x}", "{y}"))):
        raise ValueError("TRIALSEARCH_TILE_URL must be an http(s) tile URL with {z}, {x} and {y}, "
                         f"e.g. {DEFAULT_TILE_URL}; got {url!r}")
    return f"{parts.scheme}://{host}"


def config_from_env(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The app's configuration read from `environ` (see the module docstring for names)."""
    max_per_page = _whole_number(environ, "TRIALSEARCH_MAX_PER_PAGE", MAX_PER_PAGE)
    sources = environ.get("TRIALSEARCH_SOURCES", "")
    tile_url = environ.get("TRIALSEARCH_TILE_URL", DEFAULT_TILE_URL).strip()
    tile_source(tile_url)  # refuse a bad one at start, not on the first study page
    return {
        "INDEX_PATH": environ.get("TRIALSEARCH_INDEX", DEFAULT_INDEX),
        "SOURCES": [s for s in sources.split(os.pathsep) if s] or [str(SAMPLE_DATA)],
        "ADMIN_TOKEN": environ.get("TRIALSEARCH_ADMIN_TOKEN") or None,
        "MAX_PER_PAGE": max(1, min(max_per_page, MAX_PER_PAGE)),
        "WIDGET_ORIGINS": _origins(environ.get("TRIALSEARCH_WIDGET_ORIGINS", "")),
        "MAX_CONTENT_LENGTH": MAX_REQUEST_BYTES,
        "PROXIES": max(0, _whole_number(environ, "TRIALSEARCH_PROXIES", 0)),
        "TILE_URL": tile_url,
        "TILE_ATTRIBUTION": environ.get("TRIALSEARCH_TILE_ATTRIBUTION", DEFAULT_TILE_ATTRIBUTION),
    }
