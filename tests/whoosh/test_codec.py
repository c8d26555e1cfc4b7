"""trialsearch's posting format (`indexer.whoosh.codec`) and bulk writer (`indexer.index.bulk`)
against Whoosh's own: the oracle is Whoosh's exhaustive ranking, which must not change with
the format, on the shared corpus as built and after an update with deletions.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import INVENTED_DATA, studies_in, write_with_whoosh
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.qparser import MultifieldParser

from indexer import build_index, delete_studies, open_index, update_index
from indexer.catalog.fields import DEFAULT_FIELD_BOOSTS
from indexer.errors import IndexUnreadableError
from indexer.gazetteer import place_sites
from indexer.index.analysis import text_analyzer, vocabulary_analyzer
from indexer.index.bulk import WordAnalyzer
from indexer.index.layout import generation_path
from indexer.index.merge import merge_segments
from indexer.index.schema import study_to_document
from indexer.whoosh.codec import ArrayMatcher, TrialCodec
from indexer.whoosh.segments import open_writer

pytestmark = pytest.mark.slow  # two builds of the shared corpus

# Every shape of query Whoosh's searcher answers: single and several words, AND and OR,
# phrases (positions), prefix, fuzzy and range expansions, field scopes of each field type.
QUERIES = [
    "covid", "breast cancer", "cancer OR tumour", '"breast cancer"', '"type 2 diabetes"',
    "vaccin*", "heart~", "exosom*", "title:exosomes", "summary:(stem cells)",
    "status:recruiting covid", "phase:phase2", "year:[2019 TO 2021]", "sponsor_name:Pfizer",
    "eligibility:pregnant", "condition:asthma NOT children", "vocab:cancer",
    "concept:neoplasms", "study_type:interventional", "first_posted:[20200101 TO 20201231]",
    '"randomized controlled"~3',
]


def ranking(folder, queries=QUERIES) -> dict[str, list[tuple[str, float]]]:
    """Whoosh's own exhaustive ranking of each query over the index in `folder`: every hit's
    NCT ID and score, in order."""
    ix = whoosh_index.open_dir(str(folder))
    parser = MultifieldParser(list(DEFAULT_FIELD_BOOSTS), ix.schema)
    with ix.searcher() as searcher:
        return {q: [(hit["nct_id"], hit.score) for hit in
                    searcher.search(parser.parse(q), limit=None, optimize=False)]
                for q in queries}


def segments(folder) -> list:
    """The segments of the index in `folder`, through its reader (Whoosh's public API)."""
    with whoosh_index.open_dir(str(folder)).reader() as reader:
        return [leaf.segment() for leaf, _ in reader.leaf_readers()]


def codecs(folder) -> set[type]:
    return {type(segment.codec()) for segment in segments(folder)}


@pytest.fixture(scope="module")
def both(shared_data, tmp_path_factory):
    """The shared corpus indexed by trialsearch's bulk writer and by Whoosh's writer."""
    ours = tmp_path_factory.mktemp("ours") / "index_data"
    build_index([shared_data], ours, procs=2)
    theirs = write_with_whoosh([shared_data], tmp_path_factory.mktemp("theirs"))
    return ours, theirs


def test_whoosh_ranks_alike_on_both_formats(both):
    ours, theirs = both
    assert codecs(generation_path(ours)) == {TrialCodec}
    assert codecs(theirs) == {W3Codec}
    assert not [p.name for p in generation_path(ours).iterdir() if p.is_dir()]  # no leftovers
    expected = ranking(theirs)
    assert all(expected[q] for q in QUERIES), "every query must find something to compare"
    assert ranking(generation_path(ours)) == expected


def test_updated_index_with_deletions_ranks_alike(both, tmp_path, shared_data):
    ours, theirs = (tmp_path / "ours", tmp_path / "theirs")
    shutil.copytree(both[0], ours)
    shutil.copytree(both[1], theirs)
    changed = INVENTED_DATA / "text"
    update_index([changed], ours)
    gone = ["NCT99000003", "NCT04280705"]
    delete_studies(gone, ours)
    # The same change through Whoosh's writer and codec.
    ix = whoosh_index.open_dir(str(theirs))
    with ix.writer(compound=False) as writer:
        for study in studies_in(changed).values():
            writer.update_document(**study_to_document(place_sites(study)))
    with ix.writer(compound=False) as writer:
        for nct_id in gone:
            writer.delete_by_term("nct_id", nct_id)
    assert codecs(generation_path(ours)) == {TrialCodec}
    queries = [*QUERIES, "cirrhosis", "albumin"]
    expected = ranking(theirs, queries)
    assert ranking(generation_path(ours), queries) == expected
    assert not any(nct_id in gone for hits in expected.values() for nct_id, _ in hits)


def test_trialsearch_search_is_the_same_on_both_formats(both, tmp_path):
    # The array core, facets and highlights read either format: the same index with its
    # Whoosh files swapped for Whoosh-written ones answers alike.
    ours, theirs = both
    swapped = tmp_path / "index_data"
    shutil.copytree(ours, swapped)
    folder = generation_path(swapped)
    for path in folder.iterdir():
        if path.is_file() and path.name.startswith(("MAIN", "_MAIN")):
            path.unlink()
    for path in theirs.iterdir():
        shutil.copy(path, folder / path.name)
    assert codecs(folder) == {W3Codec}
    for q in ["covid vaccine", '"breast cancer"', "asthma children", "vaccin*", "exosomes"]:
        expected = open_index(swapped).search(q, per_page=50, mode="keyword")
        got = open_index(ours).search(q, per_page=50, mode="keyword")
        assert got.total == expected.total > 0
        assert [(h.nct_id, h.score) for h in got.hits] == [(h.nct_id, h.score) for h in expected.hits]
        assert got.facets == expected.facets


@pytest.mark.parametrize("analyzer", [text_analyzer(), vocabulary_analyzer()])
@pytest.mark.parametrize("text", [
    "The MSC-exosome 40mg dose of COVID-19 vaccine in Crohn's disease",
    "a an the of", "of the Sjögren's syndrome (SS), 3.5 mg/kg; UC-MSC; covid19 ABT199",
    "", "Ünïcödé café naïve — 'quoted' x-y-z 12.5.3 it's",
])
def test_bulk_analysis_gives_the_analyzer_s_terms_and_positions(analyzer, text):
    expected = [(t.text, t.pos) for t in analyzer(text, positions=True)]
    terms, first = WordAnalyzer.of(analyzer).terms(text)
    assert list(zip(terms, range(first, first + len(terms)))) == expected


def test_postings_are_memory_mapped_views(built_index):
    searcher = whoosh_index.open_dir(str(generation_path(built_index))).searcher()
    leaf, _ = searcher.reader().leaf_readers()[0]
    btext = max(leaf.lexicon("summary"), key=lambda t: leaf.doc_frequency("summary", t))
    matcher = leaf.postings("summary", btext)
    assert isinstance(matcher, ArrayMatcher)
    ids = matcher.postings.ids
    assert not ids.flags.owndata and not ids.flags.writeable  # a view of the mapped file
    walked = []
    while matcher.is_active():
        walked.append((matcher.id(), matcher.weight(), matcher.value_as("positions")))
        matcher.next()
    assert [w[0] for w in walked] == ids.tolist() == sorted(ids.tolist())
    assert all(len(positions) == weight for _, weight, positions in walked)
    searcher.close()


def test_a_damaged_posting_file_says_rebuild(built_index, tmp_path):
    copy = tmp_path / "index_data"
    shutil.copytree(built_index, copy)
    damaged = next(generation_path(copy).glob("*.ids"))
    damaged.write_bytes(b"garbage!" + damaged.read_bytes()[8:])
    index = open_index(copy)  # opening reads no array file: the first search finds the damage
    with pytest.raises(IndexUnreadableError, match=rf"index at {copy} cannot be read \({damaged.name}"
                                                   r" is not a trialsearch posting array\); rebuild it"):
        index.search("exosomes")


def test_small_segments_merge_as_arrays_and_rank_as_whoosh_s_merge(both, tmp_path):
    # Six updates (two with deletions): the small segments are merged, deleted documents
    # dropped; Whoosh's own writer, merging everything, ranks the same studies alike.
    ours, theirs = (tmp_path / "ours", tmp_path / "theirs")
    shutil.copytree(both[0], ours)
    shutil.copytree(both[1], theirs)
    changes = sorted((INVENTED_DATA / "text").glob("*.txt"))[:6]
    ix = whoosh_index.open_dir(str(theirs))
    for i, path in enumerate(changes):
        update_index([path], ours)
        with ix.writer(compound=False) as writer:
            for study in studies_in(path).values():
                writer.update_document(**study_to_document(place_sites(study)))
        if i % 3 == 2:
            delete_studies([studies_in(changes[i - 1]).popitem()[0]], ours)
            with ix.writer(compound=False) as writer:
                writer.delete_by_term("nct_id", studies_in(changes[i - 1]).popitem()[0])
    folder = generation_path(ours)
    merged = segments(folder)
    assert len(merged) < 1 + len(changes), "small segments were merged"
    assert sum(s.doc_count() for s in merged) == open_index(ours).stats()["documents"]
    # Everything in one segment on both sides, so collection statistics agree.
    ix.writer(compound=False).commit(optimize=True)
    open_writer(whoosh_index.open_dir(str(folder))).commit(
        mergetype=lambda w, segs: [merge_segments(w.storage, w.schema, w.indexname, segs)])
    assert len(segments(folder)) == 1
    queries = [*QUERIES, "cirrhosis", "albumin"]

    def by_score(hits):
        return sorted(hits, key=lambda hit: (-hit[1], hit[0]))

    expected, got = ranking(theirs, queries), ranking(folder, queries)
    assert {q: by_score(hits) for q, hits in got.items()} == \
        {q: by_score(hits) for q, hits in expected.items()}
