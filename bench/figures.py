"""How the benchmarks summarise and print a figure next to its same-run baseline."""

import statistics


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 of `samples`."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def report(name: str, value: float, unit: str, baseline_name: str, baseline: float) -> None:
    """One figure, its same-run baseline and the ratio (figure / baseline)."""
    ratio = value / baseline if baseline else float("inf")
    print(f"  {name:<34} {value:10.2f} {unit:<8} {baseline_name:<34} {baseline:10.2f} {unit:<8} ratio {ratio:6.2f}")
