"""Screenshots of the web front end's pages for docs/: demo data → headless Chromium → PNGs.

Usage (from the project root; Debian packages ``chromium`` and ``chromium-driver``, and the test
extra's ``selenium``)::

    .venv/bin/python scripts/web_screenshots.py [--out docs] [--width 1280]

What it does:

1. seeds the demo (:func:`workflows.seeding.demo.seed_demo`, about 40 cases) and its users
   (:func:`workflows.seeding.demo.seed_demo_users`, random passwords kept in memory only) into a
   throw-away data folder (SQLite), touching neither ``.gpv/`` nor any other store;
2. serves the front end as ``gpv run`` does (``start_in_thread``) on a free loopback port;
3. signs in as each role in headless Chromium and photographs each page at full height:

   ==========================  ===================================================
   ``web-login.png``           the login form
   ``web-tasks.png``           the SPDI doctor's open tasks
   ``web-cases.png``           the LWL case manager's case list
   ``web-case.png``            a case page with the step forms and the corrections
   ``web-overview.png``        the supervisor's overdue table
   ==========================  ===================================================
4. stops Chromium and the server, also when anything above fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PREFECT_URL = "http://127.0.0.1:4200"  # the links to a case's runs, as gpv run shows them
#: The demo case the case page shows: one in assessment, with many next steps to offer.
CASE_PAGE_CASE = "C-{year}-000007"
MAX_HEIGHT = 4000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(folder: Path) -> dict[str, str]:
    """The demo's cases and users in a store in ``folder`` (made the data folder of this process,
    as ``GPV_DATA_DIR`` does); name → password."""
    from workflows.seeding.demo import seed_demo, seed_demo_users
    from workflows.store.db import ready_engine

    os.environ["GPV_DATA_DIR"] = str(folder)
    os.environ.pop("GPV_DATABASE_URL", None)
    engine = ready_engine()
    now = datetime.now(UTC)
    seed_demo(engine, now)
    return {login.name: login.password for login in seed_demo_users(engine, now)}


@contextmanager
def serving() -> Iterator[str]:
    """The front end as ``gpv run`` serves it (in a thread), on a free loopback port."""
    import secrets

    from workflows.web.config import WebSettings
    from workflows.web.server import start_in_thread

    port = free_port()
    settings = WebSettings(port=port, secret=secrets.token_urlsafe(48), prefect_url=PREFECT_URL)
    stop = start_in_thread(settings)
    try:
        for _ in range(200):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield settings.url.rstrip("/")
    finally:
        stop()


@contextmanager
def chromium(profile: Path, width: int) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--hide-scrollbars", "--lang=de-DE", f"--user-data-dir={profile}",
        f"--window-size={width},900",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def login(driver: Any, base: str, name: str, password: str) -> None:
    """Sign in as a keyboard user does: name, password, Enter."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver.delete_all_cookies()
    driver.get(f"{base}/anmelden")
    fields = {e.get_attribute("id"): e for e in driver.find_elements(By.TAG_NAME, "input")}
    fields["name"].send_keys(name)
    fields["password"].send_keys(password + Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: "/anmelden" not in d.current_url)


def shoot(driver: Any, url: str, out: Path, width: int, must_show: str) -> None:
    """Open ``url``, check it shows ``must_show``, save the whole page (up to MAX_HEIGHT px)."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    text = driver.find_element(By.TAG_NAME, "body").text
    if must_show not in text:
        raise SystemExit(f"{url}: {must_show!r} fehlt auf der Seite; kein Bild geschrieben.")
    # The whole page in one picture: the viewport set to the content's height (Chrome DevTools).
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    height = min(int(metrics["cssContentSize"]["height"]), MAX_HEIGHT)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    driver.save_screenshot(str(out))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    print(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="Zielordner (docs)")
    parser.add_argument("--width", type=int, default=1280, help="Fensterbreite in Pixeln")
    args = parser.parse_args(argv)
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            print(f"{path} fehlt (apt-get install -y chromium chromium-driver)", file=sys.stderr)
            return 2
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gpv-web-shots-") as tmp:
        folder = Path(tmp)
        passwords = seed(folder)
        case = CASE_PAGE_CASE.format(year=datetime.now(UTC).year)
        with serving() as base, chromium(folder / "profile", args.width) as driver:
            shoot(driver, f"{base}/anmelden", out / "web-login.png", args.width, "Anmelden")
            login(driver, base, "spdi.arzt", passwords["spdi.arzt"])
            shoot(driver, f"{base}/aufgaben", out / "web-tasks.png", args.width, "C-")
            login(driver, base, "fm.lwl", passwords["fm.lwl"])
            shoot(driver, f"{base}/faelle", out / "web-cases.png", args.width, "C-")
            shoot(driver, f"{base}/faelle/{case}", out / "web-case.png", args.width, "Nächste")
            login(driver, base, "leitung.lwl", passwords["leitung.lwl"])
            shoot(driver, f"{base}/aufsicht", out / "web-overview.png", args.width, "überfällig")
        from workflows.store.db import dispose_engines

        dispose_engines()
    return 0


if __name__ == "__main__":
    sys.exit(main())
