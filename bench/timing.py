"""Timing helpers shared by the bench scripts (run them as `python bench/<name>.py`)."""

import statistics
import time
from collections.abc import Callable


def samples_seconds(call: Callable[[], object], repeats: int) -> list[float]:
    call()  # warm caches and lazy imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    return statistics.median(samples_seconds(call, repeats))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]
