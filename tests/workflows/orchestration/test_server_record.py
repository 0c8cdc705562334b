"""The launcher records the server it uses in the data folder, and takes the record back when it
stops (issue 12), so that ``gpv fire`` in another terminal finds it."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from workflows.orchestration.server import (
    RECORD_FILE,
    PrefectServer,
    read_record,
    server_config,
)
from workflows.orchestration.submit import discover_server


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"true" if self.path == "/api/health" else b"null"
        self.send_response(200 if self.path == "/api/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def healthy_port() -> Iterator[int]:
    """Something that answers ``/api/health`` like a Prefect server (the reuse path)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_a_reused_server_is_recorded_with_the_launchers_pid_and_the_record_goes_on_stop(
    tmp_path: Path, healthy_port: int, monkeypatch: pytest.MonkeyPatch
):
    data = tmp_path / ".gpv"
    config = server_config(data_dir=data, port=healthy_port)
    server = PrefectServer(config).start()
    record = read_record(config.home)
    assert record is not None
    assert (record.api_url, record.pid) == (config.api_url, os.getpid())
    assert record.path == data / "prefect" / RECORD_FILE

    monkeypatch.delenv("GPV_PREFECT_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("GPV_DATA_DIR", str(data))
    assert discover_server(timeout=2.0) == config.api_url

    server.stop()
    assert read_record(config.home) is None


def test_stop_leaves_a_record_that_another_launcher_wrote(tmp_path: Path, healthy_port: int):
    from workflows.orchestration.server import write_record

    config = server_config(data_dir=tmp_path, port=healthy_port)
    server = PrefectServer(config).start()
    write_record(config.home, config.api_url, os.getpid() + 1)
    server.stop()
    assert read_record(config.home) is not None
