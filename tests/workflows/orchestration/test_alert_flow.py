"""The ``alert-supervisor`` flow e-mails the alert, and still writes its artifact when it cannot.

Real flow runs against the one shared harness; the mail goes to the file transport in the test's
own data folder, or to a recording transport that refuses it.
"""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from notifications.transport import PermanentDeliveryError, RecordingTransport

RUN_ID = "prefect.flow-run.0f9b8d3c-1c2e-4a5b-9d7e-3f2a1b0c9d8e"
FAILED = "prefect.flow-run.Failed"


@pytest.fixture
def alert_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_harness: str) -> Path:
    """An own data folder, the default configuration (file transport), the harness running."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("GPV_DATA_DIR", str(data))
    for var in ("GPV_CONFIG", "GPV_TRANSPORT"):
        monkeypatch.delenv(var, raising=False)
    return data


def _latest_alert_artifact(flow_run_id: Any) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    from workflows.orchestration.flows import ALERT_KEY

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[ALERT_KEY])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
        )
    assert len(found) == 1
    return found[0]


def test_running_the_alert_flow_mails_every_supervisor_and_writes_the_artifact(
    alert_data: Path,
) -> None:
    from workflows.orchestration.flows import alert_supervisor

    state = asyncio.run(
        alert_supervisor(
            "Fristenprüfung ausgefallen", "sweep-deadlines-quiet-otter", RUN_ID, FAILED,
            return_state=True,
        )
    )  # fmt: skip
    assert state.is_completed()
    files = sorted((alert_data / "mail" / "new").glob("engine-alert-*.eml"))
    recipients = set()
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        recipients.add(message["To"].addresses[0].addr_spec)
        assert str(message["Subject"]) == "gpv: Fristenprüfung gestört – bitte prüfen"
    assert recipients == {"lwl-leitung@gpv.invalid", "kreis-unna-leitung@gpv.invalid"}
    artifact = _latest_alert_artifact(state.state_details.flow_run_id)
    assert "lwl-leitung, kreis-unna-leitung" in str(artifact.data)


def test_when_the_mail_is_refused_the_flow_still_writes_the_artifact_and_ends_failed(
    alert_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workflows.delivery.transports
    from workflows.orchestration.flows import alert_supervisor

    refusing = RecordingTransport(
        failures=[PermanentDeliveryError("SMTP 550: mailbox unknown")] * 2
    )
    monkeypatch.setattr(workflows.delivery.transports, "make_transport", lambda config: refusing)
    state = asyncio.run(
        alert_supervisor(
            "Fristenprüfung ausgefallen", "sweep-deadlines-quiet-otter", RUN_ID, FAILED,
            return_state=True,
        )
    )  # fmt: skip
    assert state.is_failed() and state.name == "AlertNotSent"
    assert "SMTP 550" in str(state.message)
    assert refusing.messages == []
    artifact = _latest_alert_artifact(state.state_details.flow_run_id)
    assert "Die E-Mail an die Aufsicht ging nicht hinaus" in str(artifact.data)
    assert "sweep-deadlines-quiet-otter" in str(artifact.data)
