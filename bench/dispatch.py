"""``gpv dispatch`` against plain ``smtplib`` over one connection, to the same local SMTP server
(issue 11).

A real SMTP server on loopback (aiosmtpd, in a thread of this process, accepting every message),
a migrated SQLite store (WAL, as gpv runs it) in a fresh data folder with one case, and per round
``--messages`` fresh notices in the outbox. Each round, interleaved:

- **gpv**: :func:`workflows.delivery.dispatch.dispatch` with the SMTP transport: claim, render,
  build the e-mail, hand over with the sent mark committed before the final ``.``, confirm;
  exactly-once as in production.
- **smtplib**: the same messages (the bytes the server received from gpv in that round) sent
  again with ``smtplib.SMTP.sendmail`` over one connection: nothing read or written, nothing
  rendered. The floor.

Prints messages per second of both (median of the rounds) and gpv's share of the floor; with
``--profile`` the top of cProfile for one gpv round.

    .venv/bin/python bench/dispatch.py                     # 5 rounds of 300 messages
    .venv/bin/python bench/dispatch.py --rounds 7 --messages 500 --profile

Goal (issue 11): gpv >= 50 % of the floor.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NOW = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


#: The SMTP server, a process of its own as a real MTA is (an aiosmtpd thread in this process
#: would compete with both contenders for the GIL): accepts everything and appends each message
#: (envelope and bytes, length-prefixed) to a file, so the floor can send the same bytes.
SERVER = """
import asyncio, json, struct, sys
from aiosmtpd.controller import Controller

class Keep:
    def __init__(self, path):
        self.out = open(path, "ab", buffering=0)

    async def handle_DATA(self, server, session, envelope):
        head = json.dumps([envelope.mail_from, list(envelope.rcpt_tos)]).encode()
        self.out.write(struct.pack("!II", len(head), len(envelope.content)) + head
                       + envelope.content)
        return "250 2.0.0 OK"

controller = Controller(Keep(sys.argv[2]), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""


def _received(path: Path) -> list[tuple[str, list[str], bytes]]:
    """The messages the server kept since the file was last emptied."""
    import json
    import struct

    data, messages, at = path.read_bytes(), [], 0
    while at < len(data):
        head_len, body_len = struct.unpack_from("!II", data, at)
        at += 8
        sender, recipients = json.loads(data[at : at + head_len])
        messages.append((sender, recipients, data[at + head_len : at + head_len + body_len]))
        at += head_len + body_len
    return messages


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _store(folder: Path) -> tuple[Any, str]:
    from datetime import date

    from workflows import service
    from workflows.store.db import dispose_engines, ready_engine

    folder.mkdir(parents=True, exist_ok=True)
    os.environ["GPV_DATA_DIR"] = str(folder)
    for var in ("GPV_CONFIG", "GPV_TRANSPORT", "GPV_DATABASE_URL", "GPV_AGREEMENT"):
        os.environ.pop(var, None)
    dispose_engines()
    engine = ready_engine(f"sqlite:///{folder / 'gpv.db'}")
    case = service.open_case(
        engine, received=date(2026, 3, 2), birth_date=date(1990, 5, 5), municipality="kamen",
        disabilities="mental", benefit="supported_living", contact_email="person@example.org",
        at=datetime(2026, 3, 2, 9, tzinfo=UTC), by="bench",
    )  # fmt: skip
    return engine, str(case["id"])


def _enqueue(engine: Any, case_id: str, n: int, round_no: int) -> int:
    """``n`` notices for the case's carrier (``statement_requested``); the pending row count."""
    from sqlmodel import Session

    from states.decision import NotificationEvent, Process
    from workflows.delivery.dispatch import store_case
    from workflows.store.outbox import enqueue, outbox_rows

    contact = store_case(engine, case_id)
    assert contact is not None
    notice = NotificationEvent("statement_requested", Process.STATEMENT, {"due": "2026-03-17"})
    with Session(engine) as session:
        for i in range(n):
            enqueue(session, case=contact.view, events=[notice], source_key=f"bench:{round_no}:{i}",
                    at=NOW)  # fmt: skip
        session.commit()
    return sum(1 for r in outbox_rows(engine) if r["status"] == "pending")


def _config(port: int) -> Any:
    from states.agreement import load_agreement
    from workflows.delivery.config import Config, PartyAddress, SmtpSettings, TransportKind

    addresses = {p: PartyAddress(email=f"{p}@partner.example") for p in load_agreement().parties}
    return Config(
        transport=TransportKind.SMTP,
        smtp=SmtpSettings(host="127.0.0.1", port=port, from_address="gpv@lwl.example", timeout=5),
        parties=addresses,
    )


def _gpv_round(engine: Any, config: Any) -> tuple[int, float]:
    from workflows.delivery.dispatch import dispatch

    start = time.perf_counter()
    counts = dispatch(engine, now=NOW, config=config)
    elapsed = time.perf_counter() - start
    assert counts["failed"] == 0 and counts["retrying"] == 0, counts
    return counts["sent"], elapsed


def _smtplib_round(port: int, messages: list[tuple[str, list[str], bytes]]) -> float:
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as conn:
        for sender, recipients, data in messages:
            conn.sendmail(sender, recipients, data)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=300, help="notices per round")
    parser.add_argument("--profile", action="store_true", help="cProfile one extra gpv round")
    args = parser.parse_args()

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="gpv-dispatch-") as tmp:
        kept = Path(tmp) / "received.bin"
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port), str(kept)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        try:
            _run(args, port, kept, Path(tmp))
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=30)


def _run(args: argparse.Namespace, port: int, kept: Path, folder: Path) -> None:
    engine, case_id = _store(folder / "data")
    config = _config(port)
    _enqueue(engine, case_id, 20, -1)  # warm-up: templates, statements, connection
    _gpv_round(engine, config)
    gpv_rates, floor_rates = [], []
    for round_no in range(args.rounds):
        pending = _enqueue(engine, case_id, args.messages, round_no)
        kept.write_bytes(b"")
        sent, gpv_s = _gpv_round(engine, config)
        messages = _received(kept)
        assert sent == pending == len(messages), (sent, pending, len(messages))
        floor_s = _smtplib_round(port, messages)
        gpv_rates.append(sent / gpv_s)
        floor_rates.append(len(messages) / floor_s)
        size = sum(len(m[2]) for m in messages) / len(messages)
        print(
            f"round {round_no + 1}: gpv {sent / gpv_s:7.0f} msg/s, smtplib "
            f"{len(messages) / floor_s:7.0f} msg/s ({len(messages)} messages, {size:.0f} bytes)"
        )
    gpv, floor = statistics.median(gpv_rates), statistics.median(floor_rates)
    print(f"\n# dispatch, {args.rounds} interleaved rounds, load average {os.getloadavg()[0]:.2f}")
    print(f"gpv dispatch   {gpv:8.0f} msg/s  ({1000 / gpv:.2f} ms per message)")
    print(f"plain smtplib  {floor:8.0f} msg/s  ({1000 / floor:.2f} ms per message)")
    verdict = "met" if gpv / floor >= 0.5 else "NOT met"
    print(f"gpv / smtplib  {gpv / floor:8.1%}   (goal >= 50 %: {verdict})")
    if args.profile:
        import cProfile
        import pstats

        _enqueue(engine, case_id, args.messages, args.rounds)
        profiler = cProfile.Profile()
        profiler.runcall(_gpv_round, engine, config)
        print()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
