"""Response hardening: security headers on everything, CORS for the public API, admin tokens.

* CSP forbids inline script and style everywhere (our pages and the widget need neither), so
  even a missed escape cannot run script. Images come from this server, except on study pages,
  whose map may also load tiles from the configured tile server's host (TILE_URL). Only the
  iframe embed (`widget.embed`) may be framed, by the configured widget origins (any origin
  by default); every other page is `DENY`.
* CORS: the read-only API answers any origin by default; with WIDGET_ORIGINS set, other origins
  get 403 with no CORS header, so browsers see no data and the widget says why. Admin endpoints
  never send CORS headers, so no other site can drive them from a visitor's browser.
"""

from __future__ import annotations

import functools
import hmac

from flask import Flask, abort, current_app, jsonify, request

from .config import tile_source

BASE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; "
            "object-src 'none'; base-uri 'none'; form-action 'self'")
EMBED_ENDPOINT = "widget.embed"
# "/api/search" also covers the search's feed and downloads (/api/search.atom, .csv, .jsonl).
MAP_ENDPOINT = "pages.study"  # its map shows tiles from TILE_URL's host
PUBLIC_API_PREFIXES = ("/api/search", "/api/studies", "/api/places", "/api/health",
                       "/api/openapi.json")


def init_app(app: Flask) -> None:
    """Install the size and origin checks and the header hooks."""
    app.before_request(_refuse_large_bodies)
    app.before_request(_refuse_foreign_origins)
    app.after_request(_add_security_headers)
    app.after_request(_add_cors_headers)


def _is_public_api() -> bool:
    return request.path.startswith(PUBLIC_API_PREFIXES)


def origin_allowed(origin: str | None) -> bool:
    """Whether a cross-origin page at `origin` may read the public API."""
    allowed = current_app.config["WIDGET_ORIGINS"]
    return not allowed or origin is None or origin.rstrip("/") in allowed or \
        origin.rstrip("/") == request.host_url.rstrip("/")


def _refuse_large_bodies():
    # Werkzeug enforces MAX_CONTENT_LENGTH only when a view reads the body; refuse before any
    # view runs, so an oversized request never reaches (or authenticates against) an endpoint.
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        abort(413, description=f"request bodies are limited to {limit:,} bytes")


def limit_body(limit: int, what: str) -> None:
    """Refuse a request body over `limit` bytes with a 413 that names the limit (`what`: "a
    patient search's body"): by its Content-Length before any of it is read, and, for a body
    sent without one, once reading passes the limit (Flask's per-request cap)."""
    if request.content_length is not None and request.content_length > limit:
        abort(413, description=f"{what} is limited to {limit:,} bytes")
    request.max_content_length = limit


def _refuse_foreign_origins():
    if _is_public_api() and not origin_allowed(request.headers.get("Origin")):
        response = jsonify(error="this site is not allowed to use this search service",
                           param="Origin")
        response.status_code = 403
        return response
    return None


def _add_security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    tiles = tile_source(current_app.config["TILE_URL"]) if request.endpoint == MAP_ENDPOINT else ""
    csp = BASE_CSP.format(tiles=f" {tiles}" if tiles else "")
    if request.endpoint == EMBED_ENDPOINT:
        ancestors = " ".join(current_app.config["WIDGET_ORIGINS"]) or "*"
        headers["Content-Security-Policy"] = f"{csp}; frame-ancestors {ancestors}"
    else:
        headers["Content-Security-Policy"] = f"{csp}; frame-ancestors 'none'"
        headers["X-Frame-Options"] = "DENY"
    return response


def _add_cors_headers(response):
    if not _is_public_api() or request.method not in ("GET", "HEAD", "OPTIONS"):
        return response
    origin = request.headers.get("Origin")
    if not current_app.config["WIDGET_ORIGINS"]:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin and origin_allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
    response.vary.add("Origin")
    return response


def require_admin_token(view):
    """Refuse the request unless it carries `Authorization: Bearer <ADMIN_TOKEN>`: 401 without
    credentials, 403 with wrong ones or when no token is configured (admin disabled)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        expected = current_app.config.get("ADMIN_TOKEN")
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if not given or scheme != "Bearer":
            response = jsonify(error="admin endpoints need 'Authorization: Bearer <token>'",
                               param="Authorization")
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="trialsearch admin"'
            return response
        if not expected:
            return jsonify(error="admin endpoints are disabled: set TRIALSEARCH_ADMIN_TOKEN",
                           param="Authorization"), 403
        # compare_digest takes the same time wherever the first difference is.
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return jsonify(error="wrong admin token", param="Authorization"), 403
        return view(*args, **kwargs)

    return wrapper
