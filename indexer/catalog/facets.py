"""Every filter people search by, declared once, with the kind of value it takes.

A facet's kind knows how its values are written (the pattern the widget checks them with, the
JSON Schema the OpenAPI document gives them, what a person may type), how a typed value
becomes the value the index holds (`not yet recruiting` -> `not_yet_recruiting`, `Germany` ->
`DE`, `Saint-Étienne` -> `saint etienne`), and how an indexed value reads on a page. The search
core's filters and facet counts, the API's parameters and OpenAPI document, the page's filter
list, the CLI's `--filter` keys and the widget's options and served configuration are all made
from `FACETS`, as Datasette's facet classes make its facets. Adding a facet is one entry here
(and, for a new field, one in `fields.py`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import QueryError
from ..place_names import Place, places_like, resolve_place
from ..places import MAX_RADIUS_KM, country_code, country_name, fold
from .registry import (
    AGE_GROUP,
    FUNDER_TYPE,
    PHASE,
    SEX,
    STATUS,
    STUDY_TYPE,
    TYPED_FLAGS,
    Enumeration,
    shown,
)

MAX_AGE_YEARS = 150
DEFAULT_RADIUS_KM = 50.0
# `near`: latitude,longitude in decimal degrees, in range.
NEAR_PATTERN = (r" *(-?(?:90(?:\.0+)?|[1-8]?[0-9](?:\.[0-9]+)?)) *, *"
                r"(-?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]+)?)) *")
# `near`: a place's name, which has a letter (of any script: anything not ASCII counts), no
# control characters and at most 199 characters; a text without a letter is a point written
# wrong. Python and JavaScript (without the u flag) read these classes alike.
_LETTER = r"[A-Za-z]|[^\x00-\x7f]"
PLACE_PATTERN = rf"[^\x00-\x1f\x7f]{{0,99}}(?:{_LETTER})[^\x00-\x1f\x7f]{{0,99}}"
PLACE_EXAMPLES = "Boston, 'Paris, TX', 'Toronto, ON'"
_NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"


class Kind:
    """The kind of value a facet takes. `role` says how a search meets it: `terms` (values
    the index holds as terms of the facet's field), `sites` (met by one of a study's sites) or
    `number` (one number that sets a bound). `pattern` is one value as the widget and /embed
    take it: a regular expression Python and JavaScript read alike, matched whole and without
    regard to case."""

    role: ClassVar[str] = "terms"
    several: ClassVar[bool] = True  # a request may give several values: any of them matches
    in_lists: ClassVar[bool] = True  # the widget takes them comma-separated
    numeric: ClassVar[bool] = False  # the index holds numbers (a range query, not a term)
    closed: ClassVar[bool] = True  # a value it does not take is refused (not: any text)
    pattern: ClassVar[str] = r"[\s\S]{1,200}"

    def index_values(self, facet: Facet, texts: list[str]) -> list[Any]:
        """The values the index holds for what was typed; QueryError naming the facet when a
        value is not one it takes."""
        return texts

    def label(self, value: Any) -> str:
        """How an indexed value reads on a page."""
        return str(value)

    def shown(self, value: Any) -> Any:
        """An indexed value as the API reports it."""
        return value

    def item_schema(self) -> dict[str, Any]:
        """The JSON Schema of one value (the API's parameter items)."""
        return {"type": "string"}

    def accepts(self, facet: Facet) -> str:
        """What a person may write, in words (documentation)."""
        return f"{facet.noun} such as {facet.example.split(',')[0]}"

    def named_by(self, facet: Facet, phrase: str) -> str | None:
        """The value a phrase of a free-text query names (lower case, single spaces), or None:
        `recruiting` names status RECRUITING, `children` age group CHILD."""
        return facet.spoken.get(phrase)

    def canonical(self, facet: Facet, texts: list[str]) -> list[str]:
        """The values as a search request keeps them (checked with `index_values` first)."""
        return texts

    def describe(self, facet: Facet) -> str:
        """What filtering by `facet` selects, as a sentence (documentation)."""
        if facet.description:
            return f"Only {facet.description}."
        return f"Only studies of this {facet.label.lower()}, as the `{facet.name}` facet lists it."


@dataclass(frozen=True, eq=False)
class EnumKind(Kind):
    """One of the registry's enumerations, in any spelling it lists (see `registry.py`)."""

    enumeration: Enumeration
    # Values that also meet a value: a woman may join a study for women or for everyone.
    also: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Values a study that states none also meets, as an age filter reads a missing limit as
    # none: a record that does not say whom it enrols does not shut a woman out.
    unstated: tuple[str, ...] = ()
    pattern: ClassVar[str] = "[A-Za-z0-9_]{1,40}"

    def index_values(self, facet, texts):
        values = [value for text in texts for value in self.enumeration.parse(text)]
        values += [more for value in values for more in self.also.get(value, ())]
        return list(dict.fromkeys(value.lower() for value in values))

    def label(self, value):
        return self.enumeration.label(str(value).upper())

    def named_by(self, facet, phrase):
        return self.enumeration.spoken.get(phrase) or facet.spoken.get(phrase)

    def canonical(self, facet, texts):
        # `not yet recruiting` -> NOT_YET_RECRUITING, `open` -> RECRUITING, NOT_YET_RECRUITING
        return list(dict.fromkeys(value for text in texts for value in self.enumeration.parse(text)))

    def shown(self, value):
        return str(value).upper()  # indexed lower-cased for forgiving queries

    def accepts(self, facet):
        return f"ClinicalTrials.gov {facet.noun} such as {self.enumeration.values[0]}"

    def describe(self, facet):
        values = ", ".join(self.enumeration.values)
        text = (f"Only studies whose {facet.name.replace('_', ' ')} is one of {values}, "
                f"{self.enumeration.spellings}.")
        return f"{text} {_sentence(facet.description)}" if facet.description else text


class TextKind(Kind):
    """One exact value, as a facet lists it (a sponsor's name, a condition)."""

    in_lists = False  # names hold commas
    closed = False


class PlaceKind(TextKind):
    """A city or state name; accents, case and punctuation aside."""

    def index_values(self, facet, texts):
        return list(dict.fromkeys(fold(text) for text in texts))


class YearKind(Kind):
    """A four-digit year."""

    numeric = True
    pattern = "(?!0000)[0-9]{4}"

    def index_values(self, facet, texts):
        for text in texts:
            if not re.fullmatch(self.pattern, text):
                raise QueryError(f"{facet.name} must be a four-digit year (0001 to 9999), got "
                                 f"'{shown(text)}'", param=facet.name)
        return list(dict.fromkeys(int(text) for text in texts))

    def item_schema(self):
        return {"type": "string", "pattern": f"^({self.pattern})?$"}

    def accepts(self, facet):
        return "four-digit years"

    def describe(self, facet):
        return f"Only studies with these {facet.noun}."


class FlagKind(Kind):
    """Yes or no (true, false, yes, no, 1, 0)."""

    pattern = "|".join(TYPED_FLAGS)

    def index_values(self, facet, texts):
        values = []
        for text in texts:
            if text.strip().lower() not in TYPED_FLAGS:
                raise QueryError(f"{facet.name} must be true or false, got '{shown(text)}'",
                                 param=facet.name)
            values.append(str(TYPED_FLAGS[text.strip().lower()]).lower())
        return list(dict.fromkeys(values))

    def label(self, value):
        return "Yes" if value == "true" else "No"

    def item_schema(self):
        return {"type": "string", "enum": list(TYPED_FLAGS)}

    def accepts(self, facet):
        return "true or false"

    def describe(self, facet):
        others = ", ".join(word for word in TYPED_FLAGS if word not in ("true", "false"))
        return f"Only studies by {facet.description}: true or false (or {others})."


class CountryKind(Kind):
    """A country, by ISO 3166 code or English name; met by one of a study's sites."""

    role = "sites"
    pattern = "[A-Za-z][A-Za-z .'()-]{1,59}"  # a code or a name without commas

    def index_values(self, facet, texts):
        codes = []
        for text in texts:
            code = country_code(text)
            if code is None:
                raise QueryError(f"unknown country '{shown(text)}'; give an ISO 3166 code (US, "
                                 "DE, KR) or an English name (United States, Germany)",
                                 param=facet.name)
            codes.append(code)
        return sorted(set(codes))

    def label(self, value):
        return country_name(value)

    def named_by(self, facet, phrase):
        # Names only: two- and three-letter codes are words too often (`us`, `in`, `can`).
        return country_code(phrase) if len(phrase) > 3 else None

    def accepts(self, facet):
        return "ISO codes or English names such as US, DE, Germany"


@dataclass(frozen=True)
class Near:
    """What `near` asked for: the text as typed, the point distances are measured from, and the
    place it names when typed by name (None for latitude,longitude)."""

    query: str
    lat: float
    lon: float
    place: Place | None = None


class NearKind(Kind):
    """A point: `latitude,longitude` in decimal degrees, or a place typed by name (`Boston`,
    `Paris, TX`, `Toronto, ON`: see `place_names.resolve_place`), which stands for its GeoNames
    point; met by a site within the radius."""

    role = "sites"
    several = False
    in_lists = False  # a point is two numbers, and a place may name its region after a comma
    pattern = f"{NEAR_PATTERN}|{PLACE_PATTERN}"

    def index_values(self, facet, texts):
        text = texts[0]
        point = re.fullmatch(NEAR_PATTERN, text)
        if point:
            return [Near(text.strip(), float(point.group(1)), float(point.group(2)))]
        if not re.search(_LETTER, text):
            raise QueryError(f"{facet.name} must be a place's name ({PLACE_EXAMPLES}) or "
                             "latitude,longitude in decimal degrees (latitude -90 to 90, "
                             f"longitude -180 to 180), e.g. 42.36,-71.06; got '{shown(text)}'",
                             param=facet.name)
        place = resolve_place(text) if re.fullmatch(PLACE_PATTERN, text) else None
        if place is None:
            raise QueryError(_unknown_place(facet, text.strip()), param=facet.name)
        return [Near(text.strip(), place.lat, place.lon, place)]

    def shown(self, value):
        """`{query, label, name, admin1, country, lat, lon, population}`: the place's fields
        null for a point typed as latitude,longitude."""
        place = value.place.to_dict() if value.place else dict.fromkeys(
            ("label", "name", "admin1", "country", "population"))
        return {"query": value.query, **place, "lat": value.lat, "lon": value.lon}

    def item_schema(self):
        return {"type": "string", "pattern": f"^(?:{self.pattern})$"}

    def accepts(self, facet):
        return f"a place's name ({PLACE_EXAMPLES}) or latitude,longitude"

    def describe(self, facet):
        return (f"Only {facet.description}. Hits then name their nearest site; `sort=distance` "
                "orders by it.")


def _unknown_place(facet: Facet, text: str) -> str:
    """Why `text` names no place, with the places spelled like it."""
    alike = [f"{place.name} ({', '.join(filter(None, (place.country, place.admin1)))})"
             for place in places_like(text)]
    if alike:
        return f"{facet.name}: no place called '{shown(text)}'; did you mean {', '.join(alike)}?"
    return (f"{facet.name}: no place called '{shown(text)}'; give a city's name "
            f"({PLACE_EXAMPLES}) or latitude,longitude (42.36,-71.06)")


@dataclass(frozen=True, eq=False)
class NumberKind(Kind):
    """One number from 0 to `high` (`unit` says what it counts)."""

    high: float
    what: str  # "a distance in km", "a person's age in years"
    default: float | None = None
    role: ClassVar[str] = "number"
    several: ClassVar[bool] = False
    in_lists: ClassVar[bool] = False
    pattern: ClassVar[str] = r"[0-9]{1,5}(\.[0-9]+)?"

    def index_values(self, facet, texts):
        text = texts[0]
        try:
            value = float(text) if re.fullmatch(_NUMBER, text.strip()) else math.nan
        except OverflowError:
            value = math.nan
        if not 0 <= value <= self.high:  # NaN fails too
            raise QueryError(f"{facet.name} must be {self.what}, from 0 to {self.high:,.0f}; "
                             f"got '{shown(text)}'", param=facet.name)
        return [value]

    def item_schema(self):
        return {"type": "number", "minimum": 0, "maximum": self.high}

    def accepts(self, facet):
        return f"a number from 0 to {self.high:g}"

    def describe(self, facet):
        return _sentence(facet.description)


def _sentence(text: str) -> str:
    return f"{text[0].upper()}{text[1:]}."


@dataclass(frozen=True)
class Facet:
    """A filter people search by; most are counted too (facets)."""

    name: str  # the filter parameter (`status=`), the `--filter` key and the facet's key
    field: str  # the index field (or column) that holds its values
    label: str  # its heading on the search page
    noun: str  # its values, in the plural, for documentation: "statuses"
    kind: Kind
    example: str  # values for documentation, comma-separated
    multi: bool = False  # a study may hold several values (a phase 1/2 study is in both)
    counted: bool = True  # counted per value (a facet), not only a filter
    description: str = ""  # what it selects, when the name alone does not say
    reads: tuple[str, ...] = ()  # the index fields it reads, when not only `field`
    # Phrases of a free-text query that name a value, besides those its kind knows.
    spoken: dict[str, str] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[str, ...]:
        """The index fields a filter by this facet reads (an index built before them cannot
        filter by it)."""
        return self.reads or (self.field,)


FACETS = (
    Facet("status", "status", "Status", "statuses", EnumKind(STATUS), "RECRUITING,NOT_YET_RECRUITING"),
    Facet("phase", "phase", "Phase", "phases", EnumKind(PHASE), "PHASE2,PHASE3", multi=True),
    Facet("type", "study_type", "Study type", "study types", EnumKind(STUDY_TYPE), "INTERVENTIONAL"),
    Facet("sponsor", "sponsor_name", "Sponsor", "sponsors", TextKind(),
          "National Cancer Institute (NCI)"),
    Facet("year", "year", "First posted", "years first posted", YearKind(), "2023,2024"),
    Facet("condition", "conditions_facet", "Condition", "conditions", TextKind(), "COVID-19",
          multi=True),
    Facet("country", "sites", "Country", "countries", CountryKind(), "US,DE", multi=True,
          description="studies with a site in the country (ISO 3166 code or English name); "
                      "with a status filter, a site in that status"),
    Facet("state", "state", "State", "states", PlaceKind(), "Massachusetts", multi=True,
          counted=False, description="studies with a site in the state or region"),
    Facet("city", "city", "City", "cities", PlaceKind(), "Boston", multi=True, counted=False,
          description="studies with a site in the city"),
    Facet("near", "sites", "Near", "places", NearKind(), "Boston", counted=False,
          description="studies with a site within `radius` km of this place: a city's name "
                      f"({PLACE_EXAMPLES}; the most populous place of that name, in the "
                      "country or state named after it) or latitude,longitude in decimal "
                      "degrees (42.36,-71.06); with a status filter, a site in that status"),
    Facet("radius", "sites", "Radius (km)", "distances",
          NumberKind(MAX_RADIUS_KM, "a distance in km", DEFAULT_RADIUS_KM), "50", counted=False,
          description=f"the distance `near` reaches, in km (default {DEFAULT_RADIUS_KM:g}, at "
                      f"most {MAX_RADIUS_KM:g}); only with `near`"),
    Facet("age", "age", "Age", "ages", NumberKind(MAX_AGE_YEARS, "a person's age in years"), "70",
          counted=False, reads=("min_age", "max_age"),
          description="a person's age in years: studies whose age limits include it "
                      "(a missing limit is no limit)"),
    Facet("age_group", "age_group", "Age group", "age groups", EnumKind(AGE_GROUP),
          "CHILD,OLDER_ADULT", multi=True),
    Facet("sex", "sex", "Sex", "sexes",
          EnumKind(SEX, {"FEMALE": ("ALL",), "MALE": ("ALL",)}, unstated=("FEMALE", "MALE")),
          "FEMALE", description="FEMALE or MALE: studies that enrol that sex (including those "
                                "open to all, and those that do not say); ALL: studies open to all"),
    Facet("healthy_volunteers", "healthy_volunteers", "Healthy volunteers", "answers", FlagKind(),
          "true", description="whether the study accepts healthy volunteers",
          spoken={"healthy volunteers": "true", "healthy volunteer": "true"}),
    Facet("has_results", "has_results", "Has results", "answers", FlagKind(), "true",
          description="whether results are posted on ClinicalTrials.gov"),
    Facet("funder_type", "funder_type", "Funder type", "funder types", EnumKind(FUNDER_TYPE),
          "INDUSTRY,NIH", description="the lead sponsor's class: INDUSTRY, NIH, FED (other U.S. "
                                      "federal) or OTHER"),
)
FACETS_BY_NAME = {facet.name: facet for facet in FACETS}
# The facets on fields that hold the registry's enumerations: `status:` in a query takes the
# same spellings as the `status` filter.
ENUMERATIONS_BY_FIELD = {facet.field: facet.kind.enumeration for facet in FACETS
                         if isinstance(facet.kind, EnumKind)}
