"""Delivery configuration: file, environment, validation, masking."""

from __future__ import annotations

import pytest

from states.errors import ConfigError
from workflows.delivery.config import TransportKind, load_config, show

GOOD = """
[transport]
kind = "smtp"

[smtp]
host = "mail.lwl.example"
port = 587
starttls = true
user = "gpv"
password = "geheim-123"
from = "gpv@lwl.example"

[parties.spdi]
email = "spdi@kreis-unna.example"
name = "SPDI Unna"
"""

BOTH_TLS = GOOD.replace("starttls = true", "starttls = true\ntls = true")


def _load(tmp_path, text: str, **env: str):
    path = tmp_path / "gpv.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ=env)


def test_a_complete_file_is_read(tmp_path):
    config = _load(tmp_path, GOOD)
    assert config.transport is TransportKind.SMTP
    assert (config.smtp.host, config.smtp.port, config.smtp.starttls) == (
        "mail.lwl.example",
        587,
        True,
    )
    assert config.parties["spdi"].email == "spdi@kreis-unna.example"
    assert config.domain == "lwl.example"


def test_environment_variables_override_the_file(tmp_path):
    config = _load(
        tmp_path, GOOD, GPV_SMTP_HOST="127.0.0.1", GPV_SMTP_PORT="2525",
        GPV_SMTP_STARTTLS="false", GPV_SMTP_PASSWORD="anders", GPV_TRANSPORT="file",
    )  # fmt: skip
    assert (config.smtp.host, config.smtp.port, config.smtp.starttls) == ("127.0.0.1", 2525, False)
    assert config.smtp.password == "anders"
    assert config.transport is TransportKind.FILE
    assert "GPV_SMTP_PORT" in config.overrides


def test_show_masks_the_password_and_marks_default_addresses(tmp_path):
    shown = show(_load(tmp_path, GOOD.replace('kind = "smtp"', 'kind = "file"')))
    assert shown["smtp"]["password"] == "********"
    assert "geheim-123" not in str(shown)
    assert shown["parties"]["spdi"]["email"] == "spdi@kreis-unna.example"
    assert shown["parties"]["lwl"]["email"] == "lwl@gpv.invalid"
    assert "nur für den Dateiversand" in shown["parties"]["lwl"]["note"]


def test_on_smtp_a_party_without_an_address_has_none(tmp_path):
    config = _load(tmp_path, GOOD)
    assert config.address_of("lwl") is None
    assert show(config)["parties"]["lwl"]["email"] is None


def test_without_a_file_the_file_transport_is_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("GPV_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GPV_CONFIG", raising=False)
    config = load_config(environ={})
    assert config.transport is TransportKind.FILE and config.source is None


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (GOOD.replace("port = 587", 'port = "587"'), "smtp.port", "ganze Zahl"),
        (GOOD.replace("port = 587", "port = 70000"), "smtp.port", "ganze Zahl"),
        (GOOD.replace('kind = "smtp"', 'kind = "fax"'), "transport.kind", "unbekannt"),
        (GOOD.replace("[parties.spdi]", "[parties.lvr]"), "parties.lvr", "Kooperations"),
        (GOOD.replace('"spdi@kreis-unna.example"', '"kein-at"'), "parties.spdi.email", "ein @"),
        (GOOD + "\n[smtp2]\nx = 1\n", "smtp2", "unbekannter Schlüssel"),
        (BOTH_TLS, "smtp.starttls", "schließen sich aus"),
        (GOOD.replace('user = "gpv"', 'usr = "gpv"'), "smtp.usr", "unbekannter Schlüssel"),
    ],
)  # fmt: skip
def test_an_invalid_file_is_refused_naming_file_key_and_problem(tmp_path, text, key, problem):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    message = str(err.value)
    assert str(tmp_path / "gpv.toml") in message
    assert key in message and problem in message


def test_a_broken_toml_file_is_refused_with_its_name(tmp_path):
    with pytest.raises(ConfigError, match="kein gültiges TOML"):
        _load(tmp_path, "[smtp\nhost=")


def test_a_bad_port_in_the_environment_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="GPV_SMTP_PORT"):
        _load(tmp_path, GOOD, GPV_SMTP_PORT="zwei")


def test_a_missing_config_named_by_gpv_config_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="existiert nicht"):
        load_config(environ={"GPV_CONFIG": str(tmp_path / "fehlt.toml")})
