"""Near-duplicate lookup cost and memory with 10k, 100k and 1M fingerprints in the state.

    python bench/bench_neardup.py [SIZES…]      # default: 10000 100000 1000000

For each size, one child process fills a fresh state file with that many stored bodies (random
MinHash signatures and shingle-set sizes, as `TrackRecords` stores them) and a second child opens
it the way a crawl does and looks up 500 unseen bodies (misses) and 500 edited copies of stored
ones (hits) through `CrawlState.nearest`. Printed per size: milliseconds per lookup (median and
95th percentile), the lookup process's peak memory, the state file's size, and each figure as a
ratio to the smallest size. Targets: under 1 ms per lookup and under 300 MB at 1M.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from crawler.similarity import NUM_PERM, Fingerprint
from crawler.state import CrawlState

LOOKUPS = 500
CHUNK = 20_000


def _signatures(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    signatures = rng.integers(0, 2**32, size=(count, NUM_PERM), dtype=np.uint64)
    sizes = rng.integers(150, 3000, size=count)
    return signatures, sizes


def fill(path: Path, count: int) -> None:
    """Store `count` random fingerprints, in large transactions (as many crawls would over time)."""
    rng = np.random.default_rng(1)
    with CrawlState(path) as state:
        state.db.execute("PRAGMA cache_size = -200000")
        for start in range(0, count, CHUNK):
            signatures, sizes = _signatures(rng, min(CHUNK, count - start))
            for offset, (signature, size) in enumerate(zip(signatures, sizes, strict=True)):
                state._store_fingerprint(f"r{start + offset}", "bench", None, Fingerprint(signature, int(size)))
            state.commit()


def lookup(path: Path, count: int) -> dict[str, float]:
    rng = np.random.default_rng(2)
    with CrawlState(path) as state:
        misses, miss_sizes = _signatures(rng, LOOKUPS)
        picks = rng.integers(0, count, size=LOOKUPS)
        probes = [Fingerprint(signature, int(size)) for signature, size in zip(misses, miss_sizes, strict=True)]
        for pick in picks:
            blob, size = state.db.execute(
                "SELECT signature, size FROM fingerprints WHERE record_id = ?", (f"r{pick}",)
            ).fetchone()
            stored = Fingerprint.from_bytes(blob, size).signature.copy()
            edited = rng.choice(NUM_PERM, size=NUM_PERM // 10, replace=False)  # ~10% of the text changed
            stored[edited] = rng.integers(0, 2**32, size=len(edited), dtype=np.uint64)
            probes.append(Fingerprint(stored, size))
        timings, matched = [], []
        for probe in probes:
            start = time.perf_counter()
            match = state.nearest(probe)
            timings.append((time.perf_counter() - start) * 1000)
            matched.append(match is not None)
    timings.sort()
    return {
        "median_ms": statistics.median(timings),
        "p95_ms": timings[int(len(timings) * 0.95)],
        "false_matches": sum(matched[:LOOKUPS]),
        "edited_found": sum(matched[LOOKUPS:]),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] in ("--fill", "--lookup"):
        path, count = Path(sys.argv[2]), int(sys.argv[3])
        if sys.argv[1] == "--fill":
            fill(path, count)
        else:
            print(json.dumps(lookup(path, count)))
        return
    sizes = [int(arg) for arg in sys.argv[1:]] or [10_000, 100_000, 1_000_000]
    baseline: dict[str, float] | None = None
    print(
        f"{'stored':>9} {'median ms':>10} {'p95 ms':>8} {'edited found':>13} {'false':>6} {'peak MB':>8} "
        f"{'file MB':>8} {'fill s':>7}"
    )
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "state.sqlite"
            start = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--fill", str(path), str(size)], check=True)
            fill_s = time.perf_counter() - start
            result = subprocess.run(
                [sys.executable, __file__, "--lookup", str(path), str(size)], check=True, capture_output=True, text=True
            )
            figures = json.loads(result.stdout)
            figures["file_mb"] = path.stat().st_size / 1024 / 1024
        print(
            f"{size:>9} {figures['median_ms']:>10.3f} {figures['p95_ms']:>8.3f} "
            f"{int(figures['edited_found']):>8}/{LOOKUPS:<4} {int(figures['false_matches']):>6} "
            f"{figures['peak_mb']:>8.0f} "
            f"{figures['file_mb']:>8.0f} {fill_s:>7.0f}"
        )
        baseline = baseline or figures
    print(
        f"ratios to {sizes[0]}: median lookup ×{figures['median_ms'] / baseline['median_ms']:.2f}, "
        f"peak memory ×{figures['peak_mb'] / baseline['peak_mb']:.2f} "
        f"(targets at 1M: < 1 ms per lookup, < 300 MB)"
    )


if __name__ == "__main__":
    main()
