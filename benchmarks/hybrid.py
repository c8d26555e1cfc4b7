"""Meaning search in the main suite: per scale, vectors for trialsearch's cached index (really
encoded up to `real_up_to` studies, synthetic above: resampled from the largest real fill, as
`benchmarks.semantic` makes them), then hybrid search, the default mode of an index with
vectors, in process (the query mix in interleaved rounds) and over HTTP (2 workers, 8 clients).

The vectors live in `<cache>/semantic/<scale>/` beside a link to the cached generation, the
folders `python -m benchmarks.semantic` reuses; the plain suite's index stays without them."""

from __future__ import annotations

from pathlib import Path

from . import serving


def unavailable() -> str | None:
    """None when meaning search can run here, else why the hybrid measure is skipped."""
    from indexer.semantic import SemanticUnavailable
    from indexer.semantic.encoder import query_encoder

    try:
        query_encoder()  # the packages and the model file, as a fill needs them
    except SemanticUnavailable as error:
        return str(error)
    return None


def measure(index_dir: Path, scale: int, cache: Path, *, real_up_to: int, rounds: int,
            http_seconds: float | None) -> dict:
    """Fill (or reuse) `scale`'s vectors, then time hybrid search in process and, unless
    `http_seconds` is None, over HTTP: trialsearch's result sections `vectors`, `hybrid` (the
    mix), `hybrid_new_query` (plain words, each encoded anew), `hybrid_filters` and
    `hybrid_http`, and `load_avg` over the in-process rounds; or `skipped` saying why not."""
    from indexer.semantic.contract import model_id
    from indexer.semantic.encoder import query_encoder

    from .semantic.latency import mode_latency
    from .semantic.vectors import fill_real, fill_synthetic, index_ids, pool_of, view_folder

    root = view_folder(index_dir, cache / "semantic" / str(scale))
    if scale <= real_up_to:
        print(f"[{scale:,}] vectors: encoding every study (all cores)", flush=True)
        vectors = {"kind": "real", **fill_real(root, refill=False)}
    else:
        real = _largest_real_fill(cache, real_up_to)
        if real is None:
            return {"skipped": f"no real fill at or under {real_up_to:,} studies to resample "
                               "synthetic vectors from (run a smaller scale first)"}
        pool_name = f"the {real.name}-study real fill"
        print(f"[{scale:,}] vectors: synthetic, resampled from {pool_name}", flush=True)
        vectors = fill_synthetic(root, index_ids(root), pool_of(real), pool_name,
                                 model_id(query_encoder()))
    print(f"[{scale:,}] hybrid: query mix, {rounds} rounds", flush=True)
    latency = mode_latency(root, rounds)
    modes = latency["modes"]
    out = {"vectors": vectors, "load_avg": latency["load_avg"], "hybrid": modes["hybrid"]["mix"],
           "hybrid_new_query": modes["hybrid (new query)"]["plain_words"],
           "hybrid_filters": modes["hybrid"]["filters"]}
    if http_seconds is not None:
        print(f"[{scale:,}] hybrid: HTTP {http_seconds:g} s", flush=True)
        out["hybrid_http"] = serving.measure(root, http_seconds)
    return out


def _largest_real_fill(cache: Path, real_up_to: int) -> Path | None:
    """The folder of the largest scale up to `real_up_to` whose vectors were really encoded."""
    filled = [folder for folder in (cache / "semantic").glob("[0-9]*")
              if int(folder.name) <= real_up_to and (folder / "fill.json").exists()]
    return max(filled, key=lambda folder: int(folder.name), default=None)
