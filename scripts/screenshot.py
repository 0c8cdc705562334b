"""The README's dashboard screenshot: ``gpv run --demo`` → headless Chromium → docs/dashboard.png.

Usage (from the project root, Debian packages ``chromium`` and ``chromium-driver`` installed)::

    .venv/bin/python scripts/screenshot.py [--out docs/dashboard.png] [--page runs]
                                           [--sweeps 2] [--size 1440,900]

What it does:

1. starts ``gpv run --demo --port <free port>`` with a throw-away data folder (SQLite) and no
   inherited ``PREFECT_*``/``GPV_*`` settings, so it touches neither ``.gpv/`` nor ``~/.prefect``;
2. waits (over the REST API, stdlib only) until the demo is seeded, ``--sweeps`` runs of
   ``sweep-deadlines`` completed and the ``overdue-deadlines`` artifact exists (two sweeps take a
   little over a minute: the first starts at once, the next one a minute later);
3. fires ``--fire`` steps (``accept_jurisdiction``) on demo cases through ``gpv fire``, so the
   runs page shows named runs with their tags;
4. drives Chromium through ``chromedriver``'s WebDriver HTTP API (no Selenium needed), opens the
   page, waits until the page shows demo data and takes the screenshot;
5. stops Chromium, chromedriver and ``gpv run`` (SIGTERM, which also stops its Prefect server),
   also when anything above fails.

Pages: ``runs`` (flow runs with names and tags; the one docs/dashboard.png shows), ``dashboard``
(Prefect's overview), ``artifacts`` (the list). Only ``runs`` has been checked by eye so far.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GPV = ROOT / ".venv" / "bin" / "gpv"
CHROME_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--lang=de-DE",
]

# page name → (path in the UI, text that must be on the page before the picture is taken)
PAGES: dict[str, tuple[str, str]] = {
    "runs": ("/runs", "sweep-deadlines"),
    "dashboard": ("/dashboard", "Flow Runs"),
    "artifacts": ("/artifacts", "overdue-deadlines"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, body: Any = None, timeout: float = 30.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def wait_until(what: str, check: Callable[[], bool], timeout: float, alive: Callable[[], bool]):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise SystemExit(f"abgebrochen: der Prozess endete, während auf {what} gewartet wurde")
        with contextlib.suppress(OSError, ValueError, urllib.error.URLError):
            if check():
                return
        time.sleep(1.0)
    raise SystemExit(f"Zeitüberschreitung ({timeout:.0f} s): {what}")


def completed_runs(api: str, flow_name: str) -> int:
    body = {
        "flows": {"name": {"any_": [flow_name]}},
        "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
    }
    return int(http("POST", f"{api}/flow_runs/count", body))


def artifact_exists(api: str, key: str) -> bool:
    body = {"artifacts": {"key": {"any_": [key]}}, "limit": 1}
    return bool(http("POST", f"{api}/artifacts/filter", body))


def fire_steps(env: dict[str, str], count: int) -> int:
    """``gpv fire <case> accept_jurisdiction`` on up to ``count`` demo cases still waiting for the
    § 14 decision, so the runs page shows named runs with their case/trigger/party tags."""
    if count <= 0:
        return 0
    listed = subprocess.run(
        [str(GPV), "case", "list", "--status", "received", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    fired = 0
    for case in json.loads(listed.stdout)[:count]:
        subprocess.run(
            [str(GPV), "fire", case["id"], "accept_jurisdiction", "--by", "fm.demo"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=180,
        )
        fired += 1
    return fired


@contextlib.contextmanager
def process(command: list[str], log: Path, **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own process group; SIGTERM on the way out, SIGKILL after 20 s."""
    with log.open("wb") as out:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,
        )
        try:
            yield child
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)


class Browser:
    """Headless Chromium behind chromedriver, spoken to in plain WebDriver (W3C) over HTTP."""

    def __init__(self, driver_url: str, profile: Path, size: tuple[int, int]) -> None:
        self.url = driver_url
        args = [*CHROME_ARGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}"]
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"binary": shutil.which("chromium"), "args": args},
                }
            }
        }
        self.session = http("POST", f"{driver_url}/session", caps, timeout=60)["value"]["sessionId"]
        # --window-size sizes the window, not the page: grow it by the browser's own frame.
        inner_w, inner_h = self.script("return [window.innerWidth, window.innerHeight]")
        rect = self._call("GET", "/window/rect")
        self._call(
            "POST",
            "/window/rect",
            {
                "width": rect["width"] + size[0] - inner_w,
                "height": rect["height"] + size[1] - inner_h,
            },
        )

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        return http(method, f"{self.url}/session/{self.session}{path}", body, timeout=60)["value"]

    def open(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def script(self, source: str) -> Any:
        return self._call("POST", "/execute/sync", {"script": source, "args": []})

    def screenshot(self) -> bytes:
        return base64.b64decode(self._call("GET", "/screenshot"))

    def quit(self) -> None:
        with contextlib.suppress(OSError, urllib.error.URLError):
            http("DELETE", f"{self.url}/session/{self.session}", timeout=20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    parser.add_argument("--page", choices=sorted(PAGES), default="runs")
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="SEITE=DATEI",
        help="weitere Aufnahme derselben Sitzung, z. B. artifacts=/tmp/artifacts.png",
    )
    parser.add_argument("--sweeps", type=int, default=2, help="completed sweep runs to wait for")
    parser.add_argument("--size", default="1440,900")
    parser.add_argument(
        "--fire", type=int, default=3, help="so viele Schritte per gpv fire als Läufe anstoßen"
    )
    parser.add_argument("--timeout", type=float, default=240.0)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split(","))
    shots = [(args.page, args.out)]
    for item in args.also:
        page, _, out = item.partition("=")
        if page not in PAGES or not out:
            raise SystemExit(f"--also {item!r}: erwartet SEITE=DATEI, SEITE aus {sorted(PAGES)}")
        shots.append((page, Path(out)))
    for tool in ("chromium", "chromedriver"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} fehlt: apt-get install -y chromium chromium-driver")

    port = free_port()
    ui = f"http://127.0.0.1:{port}"
    api = f"{ui}/api"
    with tempfile.TemporaryDirectory(prefix="gpv-screenshot-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GPV_"))} | {
            "GPV_DATA_DIR": str(work / "data"),
            "DO_NOT_TRACK": "1",
        }
        began = time.monotonic()
        with process(
            [str(GPV), "run", "--demo", "--port", str(port)],
            work / "gpv-run.log",
            env=env,
            cwd=ROOT,
        ) as gpv:

            def alive() -> bool:
                return gpv.poll() is None

            try:
                wait_until(
                    f"{args.sweeps} Fristenprüfungen und das Artefakt overdue-deadlines",
                    lambda: (
                        completed_runs(api, "sweep-deadlines") >= args.sweeps
                        and artifact_exists(api, "overdue-deadlines")
                    ),
                    args.timeout,
                    alive,
                )
            except SystemExit:
                print((work / "gpv-run.log").read_text(errors="replace")[-3000:], file=sys.stderr)
                raise
            print(f"gpv run --demo bereit nach {time.monotonic() - began:.0f} s")
            fired = fire_steps(env | {"GPV_PREFECT_URL": ui}, args.fire)
            print(f"{fired} Schritte über den Server ausgeführt")
            driver_port = free_port()
            with process(
                ["chromedriver", f"--port={driver_port}"], work / "chromedriver.log"
            ) as driver:
                driver_url = f"http://127.0.0.1:{driver_port}"
                wait_until(
                    "chromedriver",
                    lambda: http("GET", f"{driver_url}/status")["value"]["ready"],
                    30,
                    lambda: driver.poll() is None,
                )
                browser = Browser(driver_url, work / "chrome-profile", (width, height))
                try:
                    for page, out in shots:
                        path, expected = PAGES[page]
                        browser.open(ui + path)
                        wait_until(
                            f"die Seite {path} mit {expected!r}",
                            lambda expected=expected: (
                                expected in (browser.script("return document.body.innerText") or "")
                            ),
                            60,
                            alive,
                        )
                        time.sleep(3)  # charts animate in
                        png = browser.screenshot()
                        out.parent.mkdir(parents=True, exist_ok=True)
                        out.write_bytes(png)
                        print(f"{out} geschrieben ({len(png) // 1024} KB, Seite {page}).")
                finally:
                    browser.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
