"""Shared fixtures: the real data beside the project, tiny indexes in temp dirs, the app."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
SEED_RECORD = SHARED_DATA / "seed_format" / "NCT05871463.txt"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`, or skip the test where it is absent (CI always has it)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the project")
    return SHARED_DATA
