"""Error responses: JSON under /api, a friendly page elsewhere; never a traceback."""

from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from indexer.errors import IndexNotFoundError, QueryError
from indexer.search import DescriptionTooLong


def wants_json() -> bool:
    """API clients get JSON errors; people get pages."""
    return request.path.startswith("/api/")


def error_response(status: int, message: str, param: str | None = None):
    """A JSON or HTML error response with `status` and a one-line `message`."""
    if wants_json():
        body = {"error": message}
        if param:
            body["param"] = param
        return jsonify(body), status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(QueryError)
    def query_error(exc: QueryError):
        return error_response(400, str(exc), exc.param)

    @app.errorhandler(DescriptionTooLong)
    def too_long(exc: DescriptionTooLong):
        return error_response(413, str(exc), exc.param)

    @app.errorhandler(IndexNotFoundError)
    def no_index(exc: IndexNotFoundError):
        app.logger.warning("no index: %s", exc)
        return error_response(503, "The search index has not been built yet. "
                                   "Run `trialsearch build` and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        response = make_response(error_response(exc.code or 500, exc.description or exc.name))
        # Its headers are part of the answer: RFC 9110 requires `Allow` on a 405.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        return error_response(500, InternalServerError.description)
