"""What the hostile-input tests share (tests/readers/test_hostile_records.py,
tests/search/test_hostile_queries.py, tests/webapp/test_hostile_api.py): bounded, reproducible
hypothesis settings, a summary line per test, and the query texts people (and attackers) type.

Runs are bounded and reproducible: `derandomize=True` (the same examples on every run), a fixed
`max_examples`, no example database. HOSTILE_SCALE=10 runs ten times as many for a deeper hunt.
"""

from __future__ import annotations

import json
import os
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SCALE = float(os.environ.get("HOSTILE_SCALE", "1"))
# Per input, not per run: any single input slower than this is itself a finding.
SLOW_INPUT_SECONDS = 10.0


def hostile(examples: int) -> settings:
    """Deterministic, bounded hypothesis settings; no per-example deadline (CI shares two
    cores), SLOW_INPUT_SECONDS bounds single inputs instead."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much],
    )


def summary(record_property, name: str, counts: Counter) -> None:
    """Print (and record in JUnit XML) how many hostile inputs a test tried."""
    record_property(name, json.dumps(counts))
    print(f"\nSUMMARY {name}: {json.dumps(dict(sorted(counts.items())))}")


# -- study IDs, valid and not ------------------------------------------------------------
VALID_IDS = st.integers(0, 99_999_999).map(lambda n: f"NCT{n:08d}")
ANY_IDS = st.one_of(
    VALID_IDS,
    VALID_IDS.map(lambda s: s.lower()),
    VALID_IDS.map(lambda s: f"  {s}\t"),
    st.text(max_size=20),
    st.sampled_from(["", "NCT", "NCT1234567", "NCT123456789", "nct０１２３４５６７", "None", "N/A"]),
)
# Text with the characters that break parsers: quotes, separators, markup, control characters,
# surrogate-free unicode, NUL, very long runs.

# -- the query texts: words, operators, scopes, wildcards, dates, odd characters --------------

QUERY_TOKENS = st.one_of(
    st.sampled_from(["exosomes", "liver", "cirrhosis", "MSC", "stem", "cells", "AND", "OR", "NOT",
                     "TO", "to", "(", ")", '"', "*", "?", "~", "~2", "~99", "^", "^3", "^-1",
                     "-", "+", ":", "[", "]", "{", "}", ">", "<", ">=", "<=", "=", "!", "'", "\\",
                     "/", "exo*", "*some", "e*", "?x", "ex?s*", "exosme~", "exosme~1000",
                     "title:", "summary:", "status:", "phase:", "year:", "nct:", "first_posted:",
                     "last_update:", "nosuchfield:", "condition:", "type:", "id:", "sponsor:",
                     "2020", "2024-01-01", "[2020 to 2022]", "[2022 TO 2020]", "{a TO b}",
                     "year:>=2021", "year:>99999999999999999999", "first_posted:[x to y]",
                     "last_update:>2024-13-45", "last_update:<cells", "year:20*", "<0",
                     "NCT05871463", "UC-MSC", "40mg", "<script>", "\x00", "\u2028", "ǅ", "ﬁ",
                     "İ", "🙂", "\ufeff", 'status:"not yet recruiting"', 'phase:"phase 2"',
                     'type:"expanded access"', 'nct:"NCT 05871463"', 'year:"2021"', "phase:2",
                     "phase:II", "nct 05871463", "NCT 05871463", "status:nope", 'phase:"1/2"']),
    st.integers(200, 300).map(lambda n: "a" * n),
    st.text(max_size=8),
)
QUERY_TEXT = st.one_of(
    st.lists(QUERY_TOKENS, max_size=15).map(" ".join),
    st.lists(QUERY_TOKENS, max_size=15).map("".join),
    st.text(max_size=200),
)
