"""trialsearch's web front end: search page, study pages, JSON API and embeddable widget.

`create_app` is the Flask app factory; `trialsearch serve` runs it under gunicorn::

    from webapp import create_app
    app = create_app(index_path="index_data")
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import config_from_env


def create_app(index_path: str | os.PathLike | None = None, **overrides: Any) -> Flask:
    """Build the app: configuration from the environment (see `webapp.config`), then
    `index_path` and any `overrides` (config keys) on top."""
    app = Flask(__name__)
    app.config.update(config_from_env())
    if index_path is not None:
        app.config["INDEX_PATH"] = str(index_path)
    app.config.update(overrides)
    app.json.sort_keys = False  # keep the documented field order in API responses
    if app.config["PROXIES"]:
        # Behind N trusted proxies, external URLs (API links, widget snippets) take the
        # scheme and host the visitor used, not the proxy's http://127.0.0.1.
        hops = app.config["PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)

    from . import api, errors, keep, links, live_index, pages, patient_page, security, widget

    live_index.init_app(app)
    links.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(patient_page.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(widget.bp)
    keep.init_app(app)
    if not app.debug:
        app.logger.setLevel(logging.INFO)
    return app
