"""Exactly-once in effect: a dispatcher killed with SIGKILL mid-batch, then restarted.

A real ``gpv dispatch`` subprocess sends 500 messages to aiosmtpd on loopback. Where the kill lands
is up to the scheduler (random kill) or forced into the worst instant: while the server is
processing a message, i.e. after the dispatcher recorded the hand-over and before the server's 250
(window kill). In both cases the server must hold every Message-ID exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from states.decision import NotificationEvent, Process
from tests.notifications.smtp_server import SmtpServer
from tests.workflows.notify_support import (
    notify_engine_fixture,  # noqa: F401
    open_case,
)
from workflows.delivery.dispatch import store_case
from workflows.store.outbox import enqueue, outbox_rows

pytestmark = pytest.mark.slow
N = 500
AT = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
GPV = str(Path(sys.executable).with_name("gpv"))


def _prepare(engine, data_dir: Path, server: SmtpServer) -> None:
    (data_dir / "gpv.toml").write_text(
        '[transport]\nkind = "smtp"\n\n'
        f'[smtp]\nhost = "{server.host}"\nport = {server.port}\nfrom = "gpv@lwl.example"\n'
        "timeout = 10\n\n"
        '[parties.spdi]\nemail = "spdi@kreis-unna.example"\n'
        '[parties.lwl-leitung]\nemail = "leitung@lwl.example"\n',
        encoding="utf-8",
    )
    view = store_case(engine, open_case(engine)).view
    notice = NotificationEvent("statement_requested", Process.STATEMENT, {"due": "2026-03-17"})
    with Session(engine) as session:
        for i in range(N):
            enqueue(session, case=view, events=[notice], source_key=f"bulk:{i}", at=AT)
        session.commit()


def _dispatcher(data_dir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPV_")}
    env["GPV_DATA_DIR"] = str(data_dir)
    return subprocess.Popen(
        [GPV, "dispatch", "--now", "2026-03-03T10:00", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _finish(data_dir: Path) -> dict[str, int]:
    proc = _dispatcher(data_dir)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out)


def _assert_each_message_id_once(engine, server: SmtpServer, alerts: int = 0) -> None:
    rows = outbox_rows(engine)
    batch = [r for r in rows if r["event"] != "delivery_failed"]
    assert len(batch) == N and len(rows) == N + alerts
    assert {r["status"] for r in rows} == {"sent"}
    expected = {f"<outbox-{r['id']}@gpv.lwl.example>" for r in rows}
    assert server.handler.duplicates() == {}
    assert set(server.handler.message_ids) == expected
    assert len(server.handler.message_ids) == N + alerts


def test_a_dispatcher_killed_mid_batch_and_restarted_delivers_each_message_once(
    notify_engine, tmp_path
):
    server = SmtpServer().start()
    try:
        _prepare(notify_engine, tmp_path, server)
        proc = _dispatcher(tmp_path)
        deadline = time.monotonic() + 120
        while server.handler.count < N // 3 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        received_before_restart = server.handler.count
        assert 0 < received_before_restart < N
        second = _finish(tmp_path)
        # If the kill landed between hand-over and confirmation, that row is not sent again and
        # the supervisor gets one alert to check it; the alert is a message of its own.
        alerts = [r for r in outbox_rows(notify_engine) if r["event"] == "delivery_failed"]
        unconfirmed = [r for r in outbox_rows(notify_engine) if r["last_error"]]
        assert len(alerts) == len(unconfirmed) <= 1
        assert second["failed"] == 0
        assert second["sent"] == N - received_before_restart + len(alerts)
        _assert_each_message_id_once(notify_engine, server, alerts=len(alerts))
    finally:
        server.stop()


def test_a_kill_while_the_server_takes_a_message_neither_loses_nor_doubles_it(
    notify_engine, tmp_path
):
    """The worst instant: the dispatcher dies while the server is processing message 100 (before
    its 250 reply). The hand-over was recorded before the final '.', so the restarted dispatcher
    does not send it again, and the row keeps a note that the acceptance was not confirmed."""
    server = SmtpServer()
    handler = server.handler
    victim: dict[str, int] = {}
    original = handler.handle_DATA

    async def handle_and_kill(srv, session, envelope):  # type: ignore[no-untyped-def]
        reply = await original(srv, session, envelope)
        if handler.count == 100 and "pid" in victim:
            os.kill(victim.pop("pid"), signal.SIGKILL)
            time.sleep(0.05)
        return reply

    handler.handle_DATA = handle_and_kill  # type: ignore[method-assign]
    server.start()
    try:
        _prepare(notify_engine, tmp_path, server)
        proc = _dispatcher(tmp_path)
        victim["pid"] = proc.pid
        proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL
        assert handler.count == 100
        _finish(tmp_path)
        _assert_each_message_id_once(notify_engine, server, alerts=1)
        notes = [r for r in outbox_rows(notify_engine) if r["last_error"]]
        assert [r["message_id"] for r in notes] == [handler.message_ids[99]]
        assert "nicht bestätigt" in notes[0]["last_error"]
        # A message that may not have arrived is never silent: the supervisor is told once.
        alerts = [r for r in outbox_rows(notify_engine) if r["event"] == "delivery_failed"]
        assert len(alerts) == 1 and alerts[0]["recipient_role"] == "supervisor"
    finally:
        server.stop()
