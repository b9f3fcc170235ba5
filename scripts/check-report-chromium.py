#!/usr/bin/env python3
"""Load an rpcbench HTML report in headless Chromium and check it.

Usage: check-report-chromium.py HTML_FILE OUT_PNG [--expect-kinds k1,k2,...]
                                [--scroll-to CSS_SELECTOR] [--width PX] [--timeout S]

Fails (exit 1) when the page logs a console error or throws, when a chart listed in the
page's <meta name="rpcbench-charts"> manifest is missing, when any [data-chart] element is
empty (no size or no visible data mark), when an expected chart kind (data-chart-kind) is
absent, or when the page fetched any resource that is not the file itself. Saves a
screenshot of the whole page to OUT_PNG (or, with --scroll-to SELECTOR, of the viewport
scrolled to that element, e.g. '#latency' or '[data-chart-kind="spectrum"]'). Exit 2 means the check could not run (missing browser, bad arguments).

Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian packages `chromium` and
`chromium-driver`); installs nothing. Talks W3C WebDriver to chromedriver over plain HTTP on
127.0.0.1 with urllib, so no pip package is needed.
"""

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = os.environ.get("RPCBENCH_CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("RPCBENCH_CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
MAX_SCREENSHOT_HEIGHT = 16000

# Runs in the page after load; returns everything the checks need.
INSPECT_JS = r"""
const out = {title: document.title, manifest: null, charts: [], resources: [],
             height: document.documentElement.scrollHeight};
const meta = document.querySelector('meta[name="rpcbench-charts"]');
if (meta) { out.manifest = meta.content.split(/\s+/).filter(Boolean); }
for (const fig of document.querySelectorAll('[data-chart]')) {
  const svg = fig.querySelector('svg.plot') || fig;
  const r = svg.getBoundingClientRect();
  const marks = fig.querySelectorAll('svg .mark');
  let visible = 0;
  for (const m of marks) {
    const b = m.getBoundingClientRect();
    if (b.width > 0 && b.height > 0) { visible++; }
  }
  out.charts.push({id: fig.getAttribute('data-chart'), kind: fig.getAttribute('data-chart-kind'),
                   width: r.width, height: r.height, marks: marks.length, visible: visible});
}
for (const e of performance.getEntriesByType('resource')) { out.resources.push(e.name); }
return out;
"""


class WebDriverError(Exception):
    pass


def call(base, method, path, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}").get("value")
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")[:500]
        raise WebDriverError(f"{method} {path}: HTTP {e.code}: {detail}") from None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise WebDriverError(f"chromedriver exited with status {proc.returncode}")
        try:
            status = call(base, "GET", "/status", timeout=2)
            if status and status.get("ready"):
                return
        except (urllib.error.URLError, ConnectionError, WebDriverError):
            pass
        time.sleep(0.1)  # polling the readiness endpoint, bounded by the deadline
    raise WebDriverError(f"chromedriver not ready after {timeout}s")


def check(report, expect_kinds):
    problems = []
    if report["manifest"] is None:
        problems.append('no <meta name="rpcbench-charts"> manifest')
    by_id = {c["id"]: c for c in report["charts"]}
    for cid in report["manifest"] or []:
        if cid not in by_id:
            problems.append(f"chart {cid} listed in the manifest is not on the page")
    for c in report["charts"]:
        if c["width"] <= 0 or c["height"] <= 0:
            problems.append(f"chart {c['id']} has no size ({c['width']}x{c['height']})")
        if c["marks"] == 0 or c["visible"] == 0:
            problems.append(f"chart {c['id']} is empty ({c['marks']} marks, {c['visible']} visible)")
    kinds = {c["kind"] for c in report["charts"] if c["marks"] > 0}
    for k in expect_kinds:
        if k not in kinds:
            problems.append(f"no non-empty chart of kind {k}")
    for r in report["resources"]:
        if not (r.startswith("file:") or r.startswith("data:") or r.startswith("about:")):
            problems.append(f"the page loaded an external resource: {r}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("html")
    ap.add_argument("png")
    ap.add_argument("--expect-kinds", default="", help="comma-separated data-chart-kind values that must be present")
    ap.add_argument("--scroll-to", default=None,
                    help="screenshot the viewport scrolled to the first element matching this CSS selector")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()

    html = os.path.abspath(args.html)
    if not os.path.isfile(html):
        print(f"check-report-chromium: {html} does not exist", file=sys.stderr)
        return 2
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(binary, os.X_OK):
            print(f"check-report-chromium: {binary} not found; install the Debian package {package}",
                  file=sys.stderr)
            return 2
    expect_kinds = [k for k in args.expect_kinds.split(",") if k]

    tmp = tempfile.mkdtemp(prefix="rpcbench-chromium-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(tmp, "chromedriver.log"), "w")
    driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}", "--allowed-ips=127.0.0.1"],
                              stdout=log, stderr=subprocess.STDOUT)
    session = None
    try:
        wait_ready(base, driver, 20)
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-quic", "--disable-dev-shm-usage", "--hide-scrollbars",
                    f"--user-data-dir={os.path.join(tmp, 'profile')}",
                    f"--window-size={args.width},1000",
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"pageLoad": int(args.timeout * 1000), "script": int(args.timeout * 1000)},
        }
        created = call(base, "POST", "/session", {"capabilities": {"alwaysMatch": caps}}, timeout=args.timeout)
        session = created["sessionId"]
        s = f"/session/{session}"
        call(base, "POST", s + "/url", {"url": "file://" + html}, timeout=args.timeout)
        report = call(base, "POST", s + "/execute/sync", {"script": INSPECT_JS, "args": []}, timeout=args.timeout)
        logs = call(base, "POST", s + "/se/log", {"type": "browser"}) or []

        problems = check(report, expect_kinds)
        for entry in logs:
            if entry.get("level") == "SEVERE":
                problems.append(f"console error: {entry.get('message')}")

        if args.scroll_to:
            found = call(base, "POST", s + "/execute/sync",
                         {"script": "const e = document.querySelector(arguments[0]);"
                                    " if (e) { e.scrollIntoView(); } return !!e;",
                          "args": [args.scroll_to]})
            if not found:
                problems.append(f"--scroll-to {args.scroll_to}: no such element")
        else:
            height = min(int(report["height"]) + 20, MAX_SCREENSHOT_HEIGHT)
            call(base, "POST", s + "/window/rect", {"width": args.width, "height": height})
        png = base64.b64decode(call(base, "GET", s + "/screenshot", timeout=args.timeout))
        os.makedirs(os.path.dirname(os.path.abspath(args.png)), exist_ok=True)
        with open(args.png, "wb") as f:
            f.write(png)

        kinds = sorted({c["kind"] for c in report["charts"]})
        print(json.dumps({
            "file": html,
            "title": report["title"],
            "charts": len(report["charts"]),
            "kinds": kinds,
            "console_messages": len(logs),
            "screenshot": os.path.abspath(args.png),
            "problems": problems,
        }, indent=2))
        return 1 if problems else 0
    except WebDriverError as e:
        print(f"check-report-chromium: {e}", file=sys.stderr)
        log.flush()
        with open(os.path.join(tmp, "chromedriver.log")) as f:
            sys.stderr.write(f.read()[-3000:])
        return 2
    finally:
        if session:
            try:
                call(base, "DELETE", f"/session/{session}", timeout=20)
            except Exception:  # best effort: the driver is terminated below anyway
                pass
        driver.terminate()
        try:
            driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            driver.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
