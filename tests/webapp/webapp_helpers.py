"""What the web app's tests share: an API search through the test client, a check of an API
answer against the OpenAPI document, and a page's links, scripts and form fields."""

from __future__ import annotations

from html.parser import HTMLParser

import jsonschema

from webapp.openapi import SCHEMAS


def validate(body: dict, schema_name: str) -> None:
    """Check an API response against the OpenAPI document's schema for it."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": {"schemas": SCHEMAS}}
    jsonschema.validate(body, schema)


class Links(HTMLParser):
    """Collects hrefs, script tags and the names of form fields from a page."""

    def __init__(self):
        super().__init__()
        self.hrefs, self.scripts, self.inputs = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "script":
            self.scripts.append(attrs)
        if tag in ("input", "select") and attrs.get("name"):
            self.inputs.append(attrs["name"])


def parse(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


def api_search(client, **params) -> dict:
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()
