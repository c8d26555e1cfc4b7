"""What each server worker holds of its own: `trialsearch serve` loads the query encoder in its
first process, before forking the workers, so they share its 140 MB instead of each loading a
copy (a registry-sized server runs 5 workers by default)."""

from __future__ import annotations

import psutil
import pytest
import requests
from live import gunicorn_server

pytestmark = [pytest.mark.slow, pytest.mark.live_server]

WORKERS = 2
# A worker's private memory after hybrid searches over the test corpus: 23 MB with the encoder
# shared, 160 MB when each worker loads its own (measured).
PRIVATE_MB_AT_MOST = 80


def test_workers_share_the_query_encoder(vector_index):
    with gunicorn_server(vector_index, workers=WORKERS) as base_url:
        modes = set()
        for n in range(4 * WORKERS):  # new queries, so that every worker encodes some
            answer = requests.get(f"{base_url}/api/search", params={"q": f"breast cancer {n}"},
                                  timeout=120)
            assert answer.status_code == 200
            modes.add(answer.json()["mode"])
        assert modes == {"hybrid"}
        [master] = [child for child in psutil.Process().children()
                    if "serve" in child.cmdline()]
        workers = master.children()
        assert len(workers) == WORKERS
        private = [round(worker.memory_full_info().uss / 2**20) for worker in workers]
    print(f"\nworkers' private memory (MB): {private}")
    assert max(private) <= PRIVATE_MB_AT_MOST, private
