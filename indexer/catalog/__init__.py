"""The catalog: what a study record holds and what people search it by, declared once.

- `registry`: the registry's enumerated values (statuses, phases, study types, age groups,
  sexes, funder types), their labels, and every spelling records and people use;
- `fields`: every index field (kind, weight, the names typed before a colon, how its value is
  taken from a `Study`);
- `facets`: every filter, with the kind of value it takes.

The index schema, the query language, filters and facet counts, the OpenAPI document, the
page, the widget's options and the CLI's filters are made from it; nothing above repeats it.
"""
