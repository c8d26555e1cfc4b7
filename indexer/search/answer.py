"""The answer to a planned and ranked search: the page of hits (with highlights and, with
`near`, each hit's nearest site and the place distances are from), the total and facet counts,
a "did you mean" and the notices, as the `SearchResult` every front end renders."""

from __future__ import annotations

import functools
from collections.abc import Callable

from ..catalog.facets import FACETS_BY_NAME
from .plan import Plan
from .ranking import Ranked, by_distance
from .results import SearchResult, facet_dicts, page_of_hits
from .snapshot import Snapshot
from .vocabulary import suggest


def answer(snap: Snapshot, plan: Plan, ranked: Ranked, matched_by: Callable[[int], str],
           time_budget: float) -> SearchResult:
    """The result of `plan` from its ranking (`took_ms` left for the caller to fill)."""
    request = plan.request
    nearest = None
    if plan.restriction.near is not None:
        sites = snap.docsets.site_match(plan.restriction.sites)
        nearest = functools.partial(snap.docsets.sites.nearest_site, sites)
        if request.sort == "distance":
            ranked = by_distance(snap, ranked, snap.docsets.sites.nearest_km(sites), plan.limit)
    hits = page_of_hits(ranked.results, request.page, request.per_page, request.highlights,
                        nearest, matched_by)
    facets = (facet_dicts(snap.docsets.facet_counts(ranked.matched, plan.restriction))
              if request.facets else {})
    suggestion = snap.memo(("suggest", request.q),
                           lambda: suggest(snap.searcher, snap.vocabulary, request.q))
    place = plan.restriction.place
    notices = list(plan.notices)
    if ranked.timed_out:
        notices.append(f"the search took longer than {time_budget:g} s; "
                       "results and counts are incomplete")
    return SearchResult(query=request.q, total=len(ranked.matched), page=request.page,
                        per_page=request.per_page, took_ms=0.0, hits=hits, facets=facets,
                        suggestion=suggestion, notices=notices, timed_out=ranked.timed_out,
                        expansions=list(plan.expansions), mode=plan.mode,
                        place=FACETS_BY_NAME["near"].kind.shown(place) if place else None)
