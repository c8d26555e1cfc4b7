"""Run one engine's build or update in a process of its own and print its cost as JSON.

A fresh process per build makes peak memory (`ru_maxrss`) belong to that build alone; the
children's figure covers Whoosh's parallel writer processes.

    python -m benchmarks.build_worker build|update ENGINE INDEX_DIR FILE...
"""

from __future__ import annotations

import json
import resource
import sys
import time

from . import peers


def main(argv: list[str]) -> None:
    """Entry point: see the module docstring."""
    action, engine_name, index_dir, *files = argv
    engine = peers.load(engine_name).Engine()
    started = time.perf_counter()
    docs = getattr(engine, action)(files, index_dir)
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    main_peak_mb = _own_peak_mb(own)
    print(json.dumps({
        "docs": docs,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, 1),
        # Parent and writer children (Linux reports their ru_maxrss in kilobytes) can peak at
        # the same time, so their sum is the bound the machine must provide.
        "peak_rss_mb": round(main_peak_mb + children.ru_maxrss / 1024, 1),
        "peak_rss_main_mb": round(main_peak_mb, 1),
    }))


def _own_peak_mb(usage) -> float:
    # ru_maxrss survives exec, so in a child of a big process it reports the parent's size;
    # VmHWM is this process's own high-water mark.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return usage.ru_maxrss / 1024


if __name__ == "__main__":
    main(sys.argv[1:])
