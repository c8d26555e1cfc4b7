"""The answer to a planned and ranked search: the page of hits (with highlights and, with
`near`, each hit's nearest site and the place distances are from), the total and facet counts,
a "did you mean", the filters the query's words name, the typed NCT IDs the index does not hold
and the notices, as the `SearchResult` every front end renders."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict

from ..catalog.facets import FACETS_BY_NAME
from .plan import Plan
from .query import split_nct_ids
from .ranking import Ranked, by_distance
from .request import SearchRequest
from .results import SearchResult, facet_dicts, page_of_hits
from .snapshot import Snapshot
from .suggestions import suggest_filters
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
    facets = facet_counts(snap, plan, ranked) if request.facets else {}
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
                        expansions=[f"{typed} → {added}" for typed, added in plan.expansions],
                        mode=plan.mode,
                        mode_note=f"Matched by words only: {plan.words_only}." if plan.words_only else "",
                        suggested_filters=[asdict(found) for found in suggest_filters(request)],
                        unknown_nct_ids=snap.memo(("unknown ids", request.q),
                                                  lambda: _unknown_nct_ids(snap, request.q)),
                        place=FACETS_BY_NAME["near"].kind.shown(place) if place else None)


def facet_counts(snap: Snapshot, plan: Plan, ranked: Ranked) -> dict[str, list[dict]]:
    """The facet counts of `ranked`'s matches, as the API gives them."""
    return facet_dicts(snap.docsets.facet_counts(ranked.matched, plan.restriction))


def recount_filtered_facets(snap: Snapshot, result: SearchResult, request: SearchRequest,
                            run: Callable[[SearchRequest], tuple]) -> None:
    """Count each counted facet `request` filters by under the other filters only (`run`
    plans and ranks a request), so the values not chosen yet stay on offer: OR within a
    facet."""
    if not request.facets:
        return
    for name in request.filters:
        if FACETS_BY_NAME[name].counted and FACETS_BY_NAME[name].kind.role != "number":
            others = request.replace(filters={k: v for k, v in request.filters.items() if k != name})
            plan, ranked, _ = run(others)
            result.facets[name] = facet_counts(snap, plan, ranked).get(name, [])


def _unknown_nct_ids(snap: Snapshot, query_text: str) -> list[str]:
    """The NCT IDs typed in the query that the index does not hold."""
    typed, _ = split_nct_ids(query_text)
    return [nct_id for nct_id in typed if snap.searcher.document_number(nct_id=nct_id) is None]
