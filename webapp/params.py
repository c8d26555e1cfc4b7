"""What the page's controls offer, and the query-string helpers pages and API share: a search
request is made by `indexer.search.SearchRequest.from_query_string`, so the page, the API and
the widget's server side validate exactly alike.

Every bad value raises `QueryError` naming its parameter, and no error message echoes a huge
value back: the API turns it into a 400, the page into a notice above the search box.
"""

from __future__ import annotations

import re

from indexer.errors import QueryError

# The page's field selector; the API's `field` takes any field name the query language knows.
FIELD_CHOICES = [("", "All fields"), ("title", "Title"), ("summary", "Summary"),
                 ("description", "Description"), ("sponsor", "Sponsor"),
                 ("condition", "Condition"), ("intervention", "Intervention")]
# The page's "Match" selector. Its first option is the server's default, sent as no mode at all:
# words and meaning where the index has study vectors, else words alone (asking for hybrid
# there would add a notice to every search).
MODE_CHOICES = [("", "Words and meaning"), ("keyword", "Words only"), ("semantic", "Meaning only")]
SORT_CHOICES = [("relevance", "Relevance"), ("last_update", "Last update"),
                ("first_posted", "First posted"), ("distance", "Distance")]  # distance: with `near`
# Filters the page's "near me and for me" fields set (the others are facet links).
FORM_FILTERS = ("near", "radius", "age", "sex")
# A study ID in a URL: NCT and 8 digits, in any case (nct05871463 is forgiven); the OpenAPI
# document states it too.
NCT_ID_PATTERN = "[Nn][Cc][Tt][0-9]{8}"
# /api/places: how long its `q` may be (longer than any place's name with its regions) and how
# many places it gives.
MAX_PLACE_QUERY = 100
DEFAULT_PLACES = 8
MAX_PLACES = 20


def plain_words(text: str) -> str:
    """The words of a query with its syntax removed: what the page searches when the query
    itself cannot be parsed (`"liver (cirrhosis` -> `liver cirrhosis`)."""
    words = re.findall(r"[^\W_]+(?:[-'][^\W_]+)*", text)
    return " ".join(w for w in words if w.upper() not in ("AND", "OR", "NOT", "TO"))


def canonical_nct_id(value: str) -> str:
    """A study ID from a URL as `NCT########`; QueryError naming `nct_id` when it is none."""
    if not re.fullmatch(NCT_ID_PATTERN, value):
        raise QueryError("not an NCT ID (expected NCT followed by 8 digits)", param="nct_id")
    return value.upper()
