"""500,000-study figures from the measured ones, where no index of that size is built."""

from __future__ import annotations


def _scan_p50(probe_result: dict, variant: str) -> float | None:
    return ((probe_result or {}).get("scan", {}).get("variants", {}).get(variant) or {}).get("p50_ms")


def extrapolate(result: dict) -> dict:
    """500k figures from the measured ones: the fill's CPU time at the measured rate, and the
    hybrid overhead (hybrid − keyword over the plain-words queries) of the largest scale with
    its scan swapped for the larger scan (the rest, encoding aside, taken as unchanged), and
    scaled whole by the scans' ratio (an upper bound)."""
    out: dict = {}
    fills = [f for f in result["fill"].values() if f.get("studies_per_cpu_s")]
    if fills:
        fill = max(fills, key=lambda f: f["studies"])
        out["fill_500k"] = {"from_studies": fill["studies"],
                            "cpu_seconds": round(500_000 / fill["studies_per_cpu_s"]),
                            "hours_on_2_idle_cores": round(500_000 / fill["studies_per_cpu_s"] / 2 / 3600, 1),
                            "hours_at_measured_wall_rate": round(500_000 / fill["studies_per_s"] / 3600, 1)}
    if not result["scales"] or not result["scan_only"]:
        return out
    scale = max(result["scales"], key=int)
    entry = result["scales"][scale]
    modes = entry["latency"]["modes"]
    size = max(result["scan_only"], key=int)
    for mode in ("hybrid", "semantic"):
        # hybrid: its cost over keyword; semantic: its whole cost (it runs no keyword side).
        base = modes["keyword"]["plain_words"] if mode == "hybrid" else {}
        cost = {p: modes[mode]["plain_words"][p] - base.get(p, 0.0) for p in ("p50_ms", "p95_ms")}
        variant = "hybrid depth, no filter" if mode == "hybrid" else "semantic (every match, sorted)"
        scan_small = _scan_p50(entry["probe"], variant)
        scan_big = _scan_p50(result["scan_only"][size]["probe"], variant)
        if not scan_small or not scan_big:
            continue
        out[f"{mode}_{size}"] = {
            "from_scale": int(scale), "over_keyword": mode == "hybrid",
            "measured_ms": {p: round(v, 2) for p, v in cost.items()},
            "scan_ms": [scan_small, scan_big], "scan_ratio": round(scan_big / scan_small, 2),
            "additive_ms": {p: round(v - scan_small + scan_big, 1) for p, v in cost.items()},
            "proportional_ms": {p: round(v * scan_big / scan_small, 1) for p, v in cost.items()}}
    return out
