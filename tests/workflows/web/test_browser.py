"""End to end in headless Chromium against the real server (uvicorn on a free port).

An SPDI doctor logs in, sees exactly her party's task (one case, not the other), and delivers
the statement with the form; a youth-office member sees nothing of that case (not in the task
list, its page "Nicht gefunden"); the case manager sees the case advanced, fires the next step
through the form and corrects a receipt date; the supervisor reads the overdue table and
downloads the CSV.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package: without them the
test is skipped, unless ``GPV_REQUIRE_BROWSER=1`` (CI), then it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.workflows.conftest import berlin
from tests.workflows.web.conftest import PASSWORD, World, settings
from workflows import service
from workflows.web.app import create_app

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium ist nicht installiert (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            return f"{path} fehlt (apt-get install -y chromium chromium-driver)"
    return None


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("GPV_REQUIRE_BROWSER") == "1":
            pytest.fail(f"GPV_REQUIRE_BROWSER=1, aber {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
        "--lang=en-US",  # the date picker's typing order (MM/DD/YYYY), whatever the host's locale
    ):  # fmt: skip
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(tmp_path / "downloads")}
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior",
        {"behavior": "allow", "downloadPath": str(tmp_path / "downloads")},
    )
    try:
        yield driver
    finally:
        driver.quit()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(world: World) -> Iterator[str]:
    import uvicorn

    world.now = berlin("2026-03-20T10:00")  # the other case's § 14 period ran out on 16 March
    app = create_app(world.engine, settings(), clock=world.clock)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def _login(driver, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/anmelden")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 10).until(lambda d: "/anmelden" not in d.current_url)


def _see(driver, text: str) -> None:
    """Wait until the page's main part shows ``text`` (a click loads a new page)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 10).until(
        expected_conditions.text_to_be_present_in_element((By.ID, "inhalt"), text)
    )


def _wait_for_file(folder: Path, pattern: str) -> Path:
    for _ in range(100):
        found = [p for p in folder.glob(pattern) if not p.name.endswith(".crdownload")]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no download matching {pattern} in {folder}")


def test_three_users_do_their_part_in_a_real_browser(browser, server, world, tmp_path):
    from selenium.webdriver.common.by import By

    driver = browser
    # The SPDI doctor: exactly her task, then the statement delivered through the form.
    _login(driver, server, "spdi.arzt")
    assert driver.current_url == f"{server}/aufgaben"
    table = driver.find_element(By.TAG_NAME, "table").text
    assert world.asked in table and world.other not in table
    driver.find_element(By.LINK_TEXT, world.asked).click()
    _see(driver, "Was Sie jetzt tun können")
    driver.find_element(By.ID, "step-deliver_statement").click()
    _see(driver, "Gespeichert: Stellungnahme abgeben.")
    driver.get(f"{server}/aufgaben/{world.other}")
    assert "Nicht gefunden" in driver.find_element(By.TAG_NAME, "h1").text

    # The youth office of Unna: nothing of the SPDI's case, neither in its list nor by address.
    _login(driver, server, "ja.unna")
    assert "Jugendamt der Kreisstadt Unna" in driver.find_element(By.TAG_NAME, "h1").text
    assert world.asked not in driver.find_element(By.ID, "inhalt").text
    driver.get(f"{server}/aufgaben/{world.asked}")
    assert "Nicht gefunden" in driver.find_element(By.TAG_NAME, "h1").text
    assert world.asked not in driver.find_element(By.ID, "inhalt").text
    driver.get(f"{server}/faelle/{world.asked}")  # the case managers' page: not for a member
    assert world.asked not in driver.find_element(By.ID, "inhalt").text

    # The case manager: the case advanced; the next step fired through the form.
    _login(driver, server, "fm.lwl")
    driver.get(f"{server}/faelle/{world.asked}")
    assert "eingegangen" in driver.find_element(By.ID, "inhalt").text  # the statement's state
    driver.find_element(By.ID, "step-determine_benefits").click()
    _see(driver, "Gespeichert: Leistungen feststellen.")
    assert service.show_case(world.engine, world.asked)["status"] == "determined"
    # … and corrects a mistaken receipt date of the other case, with a reason.
    driver.get(f"{server}/faelle/{world.other}")
    received = driver.find_element(By.ID, "correct-received_on-value")
    received.send_keys("02272026")  # typed into the date picker, MM/DD/YYYY (--lang=en-US)
    driver.find_element(By.ID, "correct-received_on-reason").send_keys("Eingangsstempel übersehen")
    driver.find_element(By.ID, "correct-received_on").click()
    _see(driver, "Gespeichert: Antragseingang berichtigt.")
    assert service.show_case(world.engine, world.other)["received_on"] == "2026-02-27"

    # The supervisor: the overdue table, then the CSV.
    _login(driver, server, "leitung.lwl")
    assert driver.current_url == f"{server}/aufsicht"
    overdue = driver.find_element(By.CSS_SELECTOR, "table.wide").text
    assert world.other in overdue and "Zuständigkeit klären" in overdue
    driver.find_element(By.PARTIAL_LINK_TEXT, "Als CSV herunterladen").click()
    downloaded = _wait_for_file(tmp_path / "downloads", "ueberfaellige-fristen-*.csv")
    text = downloaded.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "Fall;Frist;Norm;fällig am;Tage überfällig;verantwortlich"
    assert world.other in text
