"""A real OpenID Provider on loopback for the OIDC login tests: node-oidc-provider (OpenID
Certified), pinned in ``package.json`` / ``package-lock.json`` beside this file and installed with
``npm ci`` into a cache folder keyed by the lock file and ``provider.mjs``.

Without ``node`` and ``npm`` (or when ``npm ci`` cannot reach the registry) the tests are skipped
with the reason, unless ``GPV_REQUIRE_OIDC=1`` (CI, ``.ci/run``): then they fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).parent
FILES = ("package.json", "package-lock.json", "provider.mjs")
REQUIRE_ENV = "GPV_REQUIRE_OIDC"
CLIENT_ID = "gpv-web"
CLIENT_SECRET = "test-geheimnis-des-clients"
REDIRECT_URI = "http://testserver/auth/callback"
#: The provider's accounts (user name → password); "fremd" is unknown to gpv.
ACCOUNTS = {
    "spdi.arzt": "idp-passwort-spdi",
    "fm.lwl": "idp-passwort-fm",
    "ja.unna": "idp-passwort-ja",
    "fremd": "idp-passwort-fremd",
}
START_SECONDS = 60


def unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail when CI requires the provider."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1, aber {reason}")
    pytest.skip(reason)


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gpv-test-oidc-provider"


def installed_provider() -> Path:
    """The folder with ``provider.mjs`` and its ``node_modules`` (``npm ci`` on first use)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable(
            "node und npm fehlen (Node.js ≥ 20.19 installieren, z. B. apt-get install nodejs npm)"
        )
    digest = hashlib.sha256(b"".join((HERE / name).read_bytes() for name in FILES)).hexdigest()
    target = _cache_root() / digest[:16]
    if (target / "node_modules" / "oidc-provider").is_dir():
        return target
    building = target.with_name(f"{target.name}.{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    for name in FILES:
        shutil.copyfile(HERE / name, building / name)
    done = subprocess.run(
        [str(npm), "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=building,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        unavailable(f"npm ci für oidc-provider schlug fehl: {done.stderr.strip()[-500:]}")
    try:
        building.rename(target)
    except OSError:  # another worker was faster
        shutil.rmtree(building, ignore_errors=True)
    return target


@dataclass
class Provider:
    issuer: str
    process: subprocess.Popen[str]
    errors: list[str]


def _first_line(process: subprocess.Popen[str]) -> str | None:
    found: list[str] = []
    reader = threading.Thread(
        target=lambda: found.append(process.stdout.readline() if process.stdout else ""),
        daemon=True,
    )
    reader.start()
    reader.join(START_SECONDS)
    return found[0] if found and found[0] else None


def run_provider(
    folder: Path,
    *,
    host: str = "127.0.0.1",
    redirect_uri: str = REDIRECT_URI,
    userinfo_only: bool = False,
) -> Iterator[Provider]:
    """Start ``node provider.mjs``; yields once it printed its issuer, stops it afterwards."""
    env = {
        **os.environ,
        "OIDC_HOST": host,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URIS": redirect_uri,
        "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
        "OIDC_USERINFO_ONLY": "1" if userinfo_only else "0",
    }
    process = subprocess.Popen(
        [str(shutil.which("node")), "provider.mjs"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(process.stderr or ()), daemon=True).start()
    try:
        line = _first_line(process)
        if line is None:
            pytest.fail(f"Der OIDC-Testanbieter meldete sich nicht: {''.join(errors)[-1000:]}")
        yield Provider(json.loads(line)["issuer"], process, errors)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
