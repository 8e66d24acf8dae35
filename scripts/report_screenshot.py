"""The README's picture: a headless-Chromium screenshot of the top of a report (its headline box).

    python scripts/report_screenshot.py demo-report.html docs/report.png [--width 1200 --height 900]

Run after `make demo`, so the picture shows the demo's own numbers. Needs chromium (or
chromium-browser / google-chrome) on PATH.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    browser = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if browser is None:
        print("error: no chromium on PATH", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                 "--disable-background-networking", "--no-first-run", f"--user-data-dir={profile}",
                                 f"--window-size={args.width},{args.height}", f"--screenshot={args.output.resolve()}",
                                 args.report.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    if result.returncode != 0 or not args.output.exists():
        print(f"error: chromium failed: {result.stderr[-500:]}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
