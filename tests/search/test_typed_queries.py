"""What people type, through the search core, the CLI, the API and the page: the registry's
values in the forms people write them (`status:"not yet recruiting"`, `phase:2`, `II`), NCT IDs
anywhere in a query, fuzzy words compared as typed, and scopes with nothing after them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from indexer import open_index
from indexer.cli import main
from indexer.errors import QueryError

INVENTED_IDS = ["NCT99000005", "NCT99000001", "NCT99000024"]  # in the test corpus


@pytest.fixture(scope="module")
def index(built_index):
    return open_index(built_index)


def _statuses(result) -> set[str]:
    return {hit.status for hit in result.hits}


# -- the registry's values --------------------------------------------------------------------

@pytest.mark.parametrize("text", ['status:"not yet recruiting"', "status:not_yet_recruiting",
                                  'status:"Not yet recruiting"', "status:NOT_YET_RECRUITING"])
def test_a_status_in_any_spelling_is_the_registry_value(index, text):
    expected = index.search(filters={"status": ["NOT_YET_RECRUITING"]}, per_page=100)
    result = index.search(text, per_page=100)
    assert expected.total > 0
    assert result.total == expected.total
    assert _statuses(result) == {"NOT_YET_RECRUITING"}


def test_phase_forms_people_write_all_mean_the_registry_phase(index):
    totals = {text: index.search(text, per_page=1).total
              for text in ["phase:2", 'phase:"phase 2"', "phase:II", "phase:phase2", "phase:PHASE2",
                           'phase:"Phase II"']}
    assert len(set(totals.values())) == 1 and totals["phase:2"] > 0, totals
    assert index.search(filters={"phase": ["II"]}).total == totals["phase:2"]
    both = index.search('phase:"1/2"', per_page=100)
    assert all({"PHASE1", "PHASE2"} <= set(hit.phases) for hit in both.hits)


def test_a_phrase_on_a_facet_field_combines_with_words(index):
    result = index.search('phase:"phase 2" covid', per_page=100)
    assert result.total > 0
    assert all("PHASE2" in hit.phases for hit in result.hits)
    assert result.suggestion is None  # a scoped value is no misspelling


@pytest.mark.parametrize(("text", "names"), [
    ("status:nope", ["unknown status 'nope'", "not yet recruiting", "completed"]),
    ("phase:5", ["unknown phase '5'", "phase2"]),
    ('type:"clinical thing"', ["unknown type", "observational"]),
])
def test_an_unknown_value_in_the_query_lists_the_allowed_ones(index, text, names):
    with pytest.raises(QueryError) as error:
        index.search(text)
    assert error.value.param == "q"
    for name in names:
        assert name in str(error.value)


@pytest.mark.parametrize(("filters", "param"), [({"status": "nope"}, "status"),
                                                ({"phase": ["2", "phase 7"]}, "phase"),
                                                ({"type": "trial"}, "type")])
def test_an_unknown_filter_value_is_refused_naming_the_filter(index, filters, param):
    with pytest.raises(QueryError) as error:
        index.search(filters=filters)
    assert error.value.param == param
    assert f"unknown {param}" in str(error.value) and "one of:" in str(error.value)


def test_filters_take_the_forms_people_write(index):
    canonical = index.search(filters={"status": ["NOT_YET_RECRUITING"], "type": ["INTERVENTIONAL"]})
    written = index.search(filters={"status": ["not yet recruiting"], "type": ["interventional"]})
    assert canonical.total == written.total > 0


# -- NCT IDs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["{}", "{lower}", "NCT {digits}", "nct-{digits}", "  {} "])
def test_an_nct_id_in_any_form_finds_that_study(index, form):
    nct_id = INVENTED_IDS[0]
    text = form.format(nct_id, lower=nct_id.lower(), digits=nct_id[3:])
    result = index.search(text)
    assert [hit.nct_id for hit in result.hits] == [nct_id]
    assert result.suggestion is None


def test_a_list_of_nct_ids_finds_those_studies_in_the_order_typed(index):
    result = index.search(f"{INVENTED_IDS[0]}, {INVENTED_IDS[1].lower()} OR {INVENTED_IDS[2]}")
    assert [hit.nct_id for hit in result.hits] == INVENTED_IDS


def test_an_nct_id_among_words_comes_first_then_the_words_results(index):
    words = index.search("stem cells", per_page=100)
    outsider = next(hit.nct_id for hit in index.search(per_page=100).hits
                    if hit.nct_id not in {h.nct_id for h in words.hits})
    result = index.search(f"stem cells {outsider}", per_page=100)
    assert result.hits[0].nct_id == outsider
    assert result.total == words.total + 1


def test_the_founding_record_by_its_id(index, shared_data):  # the seed record is in the index
    assert index.search("NCT05871463").hits[0].nct_id == "NCT05871463"


# -- fuzzy words, compared as typed -----------------------------------------------------------

def test_fuzzy_words_match_record_words_not_stems(shared_index):
    index = open_index(shared_index)
    exact = {hit.nct_id for hit in index.search("exosomes OR exosome", per_page=100).hits}
    result = index.search("exosomes~2", per_page=10)
    top = [hit.nct_id for hit in result.hits[:len(exact)]]
    assert exact and set(top) == exact, (top, exact)  # not "Economic Burden" (econom ~ exosom)
    assert not any("econom" in hit.title.lower() for hit in result.hits)


def test_fuzzy_notices_and_suggestions_speak_in_the_users_words(index):
    result = index.search("exosomes~9")
    assert result.notices == ["fuzzy distance for 'exosomes~' capped at 2"]
    assert index.search("exosme~").suggestion is None  # `~` already asked for the near words


# -- field scopes -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["title:", "exosomes title:", "(summary:)", "status:  "])
def test_a_scope_with_nothing_after_it_is_an_error(index, text):
    with pytest.raises(QueryError, match="needs a word"):
        index.search(text)


def test_a_space_after_the_scope_still_scopes_the_next_word(index):
    assert index.search("title: exosomes").total == index.search("title:exosomes").total > 0


# -- through the API, the page and the CLI ----------------------------------------------------

def test_api_answers_phrases_on_facet_fields_and_names_bad_filter_values(client):
    response = client.get('/api/search?q=status:"not yet recruiting"')
    assert response.status_code == 200 and response.json["total"] > 0
    response = client.get("/api/search?status=nope")
    assert response.status_code == 400
    assert response.json["param"] == "status" and "not yet recruiting" in response.json["error"]
    response = client.get(f"/api/search?q=nct {INVENTED_IDS[0][3:]}")
    assert response.json["results"][0]["nct_id"] == INVENTED_IDS[0]


def test_page_shows_results_for_a_phrase_on_a_facet_field(client):
    page = client.get('/?q=phase:"phase 2" covid').get_data(as_text=True)
    assert "Something went wrong" not in page
    assert "PHASE2" in page or "Phase 2" in page
    page = client.get("/?status=nope").get_data(as_text=True)
    assert "unknown status" in page


def test_cli_answers_phrases_and_refuses_unknown_filter_values(built_index):
    runner = CliRunner()
    result = runner.invoke(main, ["search", 'status:"not yet recruiting"', "--index", str(built_index)])
    assert result.exit_code == 0, result.output
    assert "NOT_YET_RECRUITING" in result.output
    result = runner.invoke(main, ["search", "x", "--filter", "status=NOPE", "--index", str(built_index)])
    assert result.exit_code == 2
    assert "Error: unknown status 'NOPE'" in result.output and "not yet recruiting" in result.output


# -- forgiving matching ----------------------------------------------------------------------

def test_words_no_study_holds_together_show_the_studies_with_most_of_them(index):
    assert index.search("exosomes AND asthma").total == 0  # strict
    result = index.search("exosomes cirrhosis asthma", per_page=100)
    either = {hit.nct_id for hit in index.search("exosomes OR cirrhosis OR asthma",
                                                 per_page=100).hits}
    assert {hit.nct_id for hit in result.hits} == either and result.total == len(either)
    assert result.notices == ["no study has all of exosomes, cirrhosis, asthma; "
                              "showing the studies with most of them"]
    two = {hit.nct_id  # studies holding two of the three words (AND keeps it strict)
           for pair in ("exosomes AND cirrhosis", "exosomes AND asthma", "cirrhosis AND asthma")
           for hit in index.search(pair, per_page=100).hits}
    assert two and {hit.nct_id for hit in result.hits[:len(two)]} == two  # most words first


@pytest.mark.parametrize("text", ['"exosomes asthma"', "exosomes AND asthma",
                                  "title:exosomes title:asthma", "exosomes -asthma asthma"])
def test_phrases_scopes_and_operators_stay_strict(index, text):
    result = index.search(text)
    assert result.total == 0 and not result.notices


def test_enough_studies_with_every_word_keep_the_strict_answer(index):
    strict = index.search("stem cells", operator="and")
    assert strict.total >= 3 and not strict.notices
    assert strict.total < index.search("stem cells", operator="or").total


def test_forgiving_matching_through_the_api_and_cli(client, built_index):
    body = client.get("/api/search?q=exosomes asthma").json
    assert body["total"] > 0 and body["notices"][0].startswith("no study has all of")
    result = CliRunner().invoke(main, ["search", "exosomes asthma", "--index", str(built_index)])
    assert result.exit_code == 0 and "no study has all of exosomes, asthma" in result.output


def test_a_hyphenated_word_typed_bare_loosens_like_any_word(shared_index):
    # `exercise-induced` is one typed word the analyzer splits into a phrase; it must not make
    # the query strict.
    index = open_index(shared_index)
    assert index.search('"exercise-induced" AND asthma').total == 0
    result = index.search("exercise-induced asthma", per_page=50)
    assert result.total > 0 and result.notices == [
        "no study has all of exercise-induced, asthma; showing the studies with most of them"]
    either = {hit.nct_id for hit in index.search("exercise-induced OR asthma", per_page=50).hits}
    assert {hit.nct_id for hit in result.hits} == either
