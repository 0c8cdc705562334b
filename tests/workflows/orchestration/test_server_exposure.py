"""The dashboard has no login of its own: beyond loopback only on purpose, and then with Prefect's
API authentication (issue 13, item 7)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from states.errors import ConfigError, InputError
from workflows.orchestration.server import (
    AUTH_ENV,
    PrefectServer,
    free_port,
    is_loopback,
    server_config,
)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("192.168.1.20", False), ("gpv.kreis-unna.de", False)],
)  # fmt: skip
def test_only_loopback_addresses_count_as_local(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_an_address_beyond_loopback_is_refused_without_the_explicit_flag(tmp_path, monkeypatch):
    monkeypatch.setenv(AUTH_ENV, "leitung:geheim")
    with pytest.raises(InputError, match="--expose"):
        server_config(data_dir=tmp_path, host="0.0.0.0")


def test_exposing_the_server_needs_an_auth_string(tmp_path, monkeypatch):
    monkeypatch.delenv(AUTH_ENV, raising=False)
    with pytest.raises(ConfigError, match=AUTH_ENV):
        server_config(data_dir=tmp_path, host="0.0.0.0", expose=True)


def test_an_exposed_server_and_its_clients_get_the_api_auth_string(tmp_path, monkeypatch):
    monkeypatch.setenv(AUTH_ENV, "leitung:geheim")
    config = server_config(data_dir=tmp_path, host="0.0.0.0", expose=True)
    assert config.server_environment()["PREFECT_SERVER_API_AUTH_STRING"] == "leitung:geheim"
    assert config.client_environment()["PREFECT_API_AUTH_STRING"] == "leitung:geheim"
    assert "geheim" not in repr(config)


def _post(url: str, auth: str | None) -> int:
    request = urllib.request.Request(url, data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.loads(response.read() or b"null")
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_a_server_with_an_auth_string_refuses_requests_without_it(tmp_path: Path, monkeypatch):
    """A real Prefect server: without the credentials the API answers 401, with them 200."""
    monkeypatch.setenv(AUTH_ENV, "leitung:geheim")
    server = PrefectServer(server_config(data_dir=tmp_path, port=free_port()))
    server.start()
    try:
        url = f"{server.api_url}/flows/filter"
        assert _post(url, None) == 401
        assert _post(url, "leitung:falsch") == 401
        assert _post(url, "leitung:geheim") == 200
    finally:
        server.stop()
