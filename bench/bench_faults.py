"""Wall time and peak memory of a crawl of the fault portal, against a clean portal of the same articles.

    python bench/bench_faults.py [ARTICLES]      # default 200 good articles

Serves tests/faultsite.py at realistic sizes (DOWNLOAD_MAXSIZE left at its 20 MB default, 30 MB
pages with and without Content-Length, a gzip bomb inflating to 200 MB, 10 000 nested divs,
MAX_LISTING_PAGES left at 500 for the empty calendar) and the same articles without the faults,
crawls each in a subprocess (`crawler crawl --download-attachments`; timeouts and Retry-After caps
lowered so the stall and the 429/503 waits cost seconds, not minutes), and prints wall time, peak
RSS of each crawl process (its own `ru_maxrss` from `os.wait4`; target < 300 MB) and their ratios,
then what became of the faults (records, rejects by reason, requests that reached other hosts).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/faultsite.py is shared with the fault suite

from crawler.demo.site import build_routes, serve  # noqa: E402
from tests.faultsite import FaultSite, Sizes  # noqa: E402

MB = 1024 * 1024
TARGET_MB = 300
# Timing settings only: sizes stay at the crawler's defaults.
TIMING = {
    "DOWNLOAD_TIMEOUT": "3",
    "URL_TIME_BUDGET": "30",
    "RETRY_AFTER_MAX_SECONDS": "5",
    "RETRY_BACKOFF_BASE": "0.2",
    "RETRY_BACKOFF_MAX": "1",
    "LOG_LEVEL": "WARNING",
}


def crawl(base: str, out: Path) -> tuple[float, float, dict]:
    """One `crawler crawl` of `base`: (seconds, peak RSS in MB of the crawl process, manifest)."""
    command = [sys.executable, "-m", "crawler.cli", "crawl", f"{base}/", "--out", str(out)]
    command += ["--state", str(out.parent / f"{out.name}.sqlite"), "--delay", "0", "--download-attachments"]
    command += [arg for name, value in TIMING.items() for arg in ("-s", f"{name}={value}")]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"crawl of {base} exited {process.returncode}: {errors[-500:]}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return seconds, usage.ru_maxrss / 1024, manifest  # ru_maxrss is in KiB on Linux


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    sizes = Sizes(maxsize=20 * MB, huge_page=30 * MB, gzip_bomb=200 * MB, nesting=10_000, good_articles=count)
    with tempfile.TemporaryDirectory() as tmp:
        secret = Path(tmp) / "bi-mat.pdf"
        secret.write_bytes(b"%PDF-1.4\nbench secret\n%%EOF\n")
        site = FaultSite(sizes, secret).start()
        clean_server, clean_base = serve(build_routes(site.good))
        try:
            clean = crawl(clean_base, Path(tmp) / "clean")
            faulty = crawl(site.base, Path(tmp) / "faults")
        finally:
            site.stop()
            clean_server.shutdown()
            clean_server.server_close()
        run_dir = Path(tmp) / "faults"
        rejects = [json.loads(line) for line in (run_dir / "rejects.jsonl").read_text().splitlines()]
        recorded = {json.loads(line)["url"] for line in (run_dir / "records.jsonl").read_text().splitlines()}
    print(f"fault portal: {count} good articles, {len(site.faults)} fault URLs, {len(site.requests)} requests served")
    print(f"{'crawl':>14}  {'seconds':>8}  {'peak RSS':>9}  {'pages':>6}  {'records':>7}")
    for name, (seconds, rss, manifest) in (("clean portal", clean), ("fault portal", faulty)):
        print(
            f"{name:>14}  {seconds:8.1f}  {rss:6.0f} MB  {manifest['pages_fetched']:6}  {manifest['records_written']:7}"
        )
    print(
        f"fault / clean: time ×{faulty[0] / clean[0]:.2f}, peak RSS ×{faulty[1] / clean[1]:.2f}; "
        f"peak RSS {faulty[1]:.0f} MB (target < {TARGET_MB} MB)"
    )
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"largest child process of this run (RUSAGE_CHILDREN): {children:.0f} MB")
    unexpected = []
    for fault in site.faults:
        url = site.url(fault.path)
        got = [r["reason"] for r in rejects if r["url"] == url]
        if site.url(fault.record_path or fault.path) in recorded:
            got.append("record")
        if got != [fault.expect]:
            unexpected.append(f"{fault.name}: {'+'.join(got) or 'nothing'} (expected {fault.expect})")
    print(f"fault URLs as expected: {len(site.faults) - len(unexpected)} of {len(site.faults)}")
    for line in unexpected:
        print(f"  {line}")
    print(f"rejects by reason: {dict(sorted(faulty[2]['rejects_by_reason'].items()))}")
    print(f"guards: { {k: v for k, v in faulty[2]['links_not_followed'].items() if k.startswith('guard_')} }")
    print(f"requests that reached other hosts: {len(site.other_requests)}")


if __name__ == "__main__":
    main()
