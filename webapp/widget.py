"""The embeddable search widget: /widget.js, its documentation page /widget and /embed."""

from flask import Blueprint

bp = Blueprint("widget", __name__)
