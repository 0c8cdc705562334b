"""The users of gpv and who acts for a call (issue 12, legal-review M9).

A user belongs to one party of the agreement and has one role (:data:`states.agreement.USER_ROLES`:
``case_manager`` of a carrier, ``member`` of a party, ``supervisor``). What a role may fire is the
agreement's ``[permissions]`` and the pure check in :mod:`states.permissions`; this module keeps the
``users`` table, hashes passwords with Argon2id (``argon2-cffi``; the plain text is never stored)
and answers who acts for a command-line or flow call (:func:`acting_user`).

While no user is set up (the embedded default, so that ``make run`` and the README tour need no
set-up), the command line acts as the operating-system user (``$GPV_USER`` or the login name) in the
role of the case manager of whichever carrier leads the case, and says so on stderr once. Once one
user exists, every call must name a known, enabled user (``--by``), else it is refused (exit 3).

Adding and disabling a user are audit entries without a case (trigger ``add_user`` /
``disable_user``, process ``users``); the entry names the user, party and role, never a password.
User administration has no role of its own: whoever runs ``gpv user`` on the data folder already
holds the database.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Column, String, Text, bindparam, cast, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col

from states.agreement import Agreement, load_agreement
from states.errors import InputError, NotFoundError, RefusedError
from states.permissions import (
    CASE_MANAGER,
    EMBEDDED_PARTY,
    MEMBER,
    NORM_ACCESS,
    ROLE_LABELS,
    SUPERVISOR,
    User,
    check_may_fire,
    disabled_message,
    parse_role,
)
from workflows.store import audit
from workflows.store.db import UTCDateTime, read_session, write_session
from workflows.store.models import CaseRow, DeadlineRow
from workflows.store.rows import CASE_CARRIER_KINDS

__all__ = [
    "User",
    "UserRow",
    "acting_user",
    "acting_user_in",
    "add_user",
    "audit_params",
    "authenticate",
    "check_may_fire",
    "disable_user",
    "get_user",
    "list_users",
    "visible_case_ids",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 12
#: The audit's process name for user administration (no case).
AUDIT_PROCESS = "users"


class UserRow(SQLModel, table=True):
    """One user. ``password_hash`` is an Argon2id hash in PHC format, or None for a user who signs
    in through OpenID Connect only (docs/authentication.md) or acts on the command line only."""

    __tablename__ = "users"

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    party: str = Field(sa_column=Column(String(64), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    password_hash: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    enabled: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


def _user(row: UserRow) -> User:
    return User(name=row.name, party=row.party, role=row.role, enabled=row.enabled)


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()  # Argon2id with the library's current (RFC 9106) parameters


def _check_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"Der Zeitpunkt {at.isoformat()} braucht eine Zeitzone.")


def _checked_name(name: str) -> str:
    value = (name or "").strip()
    if not _NAME_RE.match(value):
        raise InputError(
            f"Ungültiger Benutzername {name!r}: erlaubt sind 1 bis 64 Zeichen aus Buchstaben "
            "(ohne Umlaute), Ziffern und . _ @ -, am Anfang ein Buchstabe oder eine Ziffer "
            "(z. B. fm.mueller)."
        )
    return value


def _checked_password(password: str | None) -> str | None:
    if password is None:
        return None
    if len(password) < MIN_PASSWORD_LENGTH or not password.strip():
        raise InputError(
            f"Das Passwort ist zu kurz: mindestens {MIN_PASSWORD_LENGTH} Zeichen (besser eine "
            "Passphrase aus mehreren Wörtern)."
        )
    return str(_hasher().hash(password))


def _checked_party(agreement: Agreement, party_id: str, role: str) -> str:
    """The party id, if a user of ``role`` can belong to it: a case manager to a carrier that runs
    Gesamtplanverfahren in gpv, a supervisor to a party that supervises (kind ``supervisor``, or
    named as a party's supervisor)."""
    party = agreement.party((party_id or "").strip())  # InputError naming the known parties
    if party.id == EMBEDDED_PARTY:
        raise InputError(f"Die Partei-ID {party.id!r} ist reserviert.")
    if role == CASE_MANAGER and party.kind not in CASE_CARRIER_KINDS:
        carriers = ", ".join(
            p.id for p in agreement.parties.values() if p.kind in CASE_CARRIER_KINDS
        )
        raise InputError(
            f"„{party.name}“ ({party.id}) führt kein Gesamtplanverfahren; Fallmanagement gibt es "
            f"nur bei einem Träger ({carriers}). Für andere Stellen: --role member."
        )
    supervises = party.kind == "supervisor" or any(
        p.supervisor == party.id for p in agreement.parties.values()
    )
    if role == SUPERVISOR and not supervises:
        raise InputError(
            f"„{party.name}“ ({party.id}) beaufsichtigt laut Vereinbarung keine Partei; Aufsicht "
            "gibt es nur bei einer Partei, die in [parties.*] als supervisor genannt ist."
        )
    return party.id


def _log(session: Session, trigger: str, user: User, at: datetime, by: str) -> None:
    audit.append(
        session,
        audit.NewEntry(
            case_id=None,
            trigger=trigger,
            process=AUDIT_PROCESS,
            from_state=None,
            to_state="enabled" if user.enabled else "disabled",
            at=at,
            by=by,
            params={"user": user.name, "party": user.party, "role": user.role},
        ),
        recorded_at=datetime.now(UTC),
    )


def add_user(
    engine: Engine,
    name: str,
    *,
    party: str,
    role: str,
    password: str | None,
    at: datetime,
    by: str,
) -> User:
    """Add an enabled user; ``role`` may be the id or its German word. InputError (exit 2) for a
    malformed name, an unknown party or role, a role the party cannot have, a password shorter
    than :data:`MIN_PASSWORD_LENGTH`, or a name already taken; nothing is written then."""
    _check_aware(at)
    checked = _checked_name(name)
    role_id = parse_role(role)
    party_id = _checked_party(load_agreement(), party, role_id)
    hashed = _checked_password(password)
    user = User(checked, party_id, role_id, True)
    with write_session(engine) as session:
        if session.get(UserRow, checked) is not None:
            raise InputError(
                f"Den Benutzer {checked} gibt es schon (gpv user list); Namen werden nicht "
                "wiederverwendet, auch nicht nach gpv user disable."
            )
        session.add(
            UserRow(
                name=checked,
                party=party_id,
                role=role_id,
                password_hash=hashed,
                enabled=True,
                created_at=at,
            )
        )
        session.flush()
        _log(session, "add_user", user, at, by)
    return user


def list_users(engine: Engine) -> list[User]:
    """Every user, by name, the disabled ones included."""
    with read_session(engine) as session:
        rows = session.scalars(select(UserRow).order_by(col(UserRow.name))).all()
    return [_user(r) for r in rows]


def get_user(engine: Engine, name: str) -> User | None:
    """The user named ``name`` as stored now (disabled ones included), or None."""
    with read_session(engine) as session:
        row = session.get(UserRow, (name or "").strip())
        return _user(row) if row is not None else None


def disable_user(engine: Engine, name: str, *, at: datetime, by: str) -> User:
    """Disable a user for good (their entries in the history keep the name); a user already
    disabled is returned unchanged, without a second audit entry. NotFoundError (exit 2) for an
    unknown name."""
    _check_aware(at)
    with write_session(engine) as session:
        row = session.get(UserRow, (name or "").strip())
        if row is None:
            raise NotFoundError(f"Einen Benutzer {name!r} gibt es nicht (gpv user list).")
        if not row.enabled:
            return _user(row)
        row.enabled = False
        session.flush()
        user = _user(row)
        _log(session, "disable_user", user, at, by)
    return user


def authenticate(engine: Engine, name: str, password: str) -> User | None:
    """The user when ``name`` is an enabled user with a password and ``password`` is it, else None.

    Constant in time whatever fails: an unknown name, a user without a password and a disabled
    user are verified against a dummy hash, so the answer's timing tells nothing."""
    from argon2.exceptions import InvalidHashError, VerificationError

    key = (name or "").strip()
    with read_session(engine) as session:
        # A string that cannot be a name (a NUL byte, which PostgreSQL refuses) is unknown.
        row = session.get(UserRow, key) if _NAME_RE.match(key) else None
        user = _user(row) if row is not None else None
        stored = row.password_hash if row is not None else None
    hasher = _hasher()
    try:
        ok = bool(hasher.verify(stored or _dummy_hash(), password or ""))
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or stored is None or user is None or not user.enabled:
        return None
    return user


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(str(_hasher().hash("gpv-dummy-password-never-used")))
    return _DUMMY[0]


_TOLD: list[str] = []


def _tell_embedded(name: str) -> None:
    """Say once per process that nobody is set up and who therefore acts."""
    if _TOLD:
        return
    _TOLD.append(name)
    sys.stderr.write(
        f"Keine Benutzer eingerichtet: {name} handelt als {ROLE_LABELS[CASE_MANAGER]} des "
        "Trägers, der den Fall führt, und erfasst jeden Schritt (gpv user add richtet Benutzer "
        "und ihre Rechte ein).\n"
    )


def _default_name() -> str:
    # The command line's rule ($GPV_USER, else the login name), imported only for this case so
    # that the service layer does not load typer otherwise.
    from workflows.cli.options import default_user

    return default_user(None)


def acting_user(engine: Engine, by: str | None) -> User:
    """Who acts for a command-line or flow call named ``by``: :func:`acting_user_in` in a read
    transaction of its own."""
    with read_session(engine) as session:
        return acting_user_in(session, by)


def _user_queries() -> tuple[Any, Any]:
    users = UserRow.__table__  # type: ignore[attr-defined]
    named = select(users.c.name, users.c.party, users.c.role, users.c.enabled).where(
        users.c.name == bindparam("name")
    )
    return named, select(users.c.name).limit(1)


#: The user of a name, and whether there is any user: built once (a fire asks both, issue 11).
_READ_USER, _ANY_USER = _user_queries()


def acting_user_in(session: Session, by: str | None) -> User:
    """Who acts for a command-line or flow call named ``by``, read in ``session``'s transaction
    (``service.fire`` asks inside its one write transaction).

    No user set up at all: the embedded user ``by`` (or ``$GPV_USER``, else the login name) as
    the case manager of the case's carrier, said once on stderr. Otherwise ``by`` must be a known,
    enabled user: RefusedError (exit 3) naming the rule (§ 35 Abs. 1 S. 2 SGB I) when it is
    missing, unknown or disabled; there is no "system" default."""
    name = (by or "").strip()
    conn = session.connection()
    row = conn.execute(_READ_USER, {"name": name}).first() if name else None
    configured = row is not None or conn.execute(_ANY_USER).first() is not None
    if not configured:
        name = name or _default_name()
        _tell_embedded(name)
        return User(name, EMBEDDED_PARTY, CASE_MANAGER, True)
    if row is None:
        who = f"„{name}“ ist kein Benutzer von gpv" if name else "Es fehlt, wer handelt"
        raise RefusedError(
            f"{who}: Schritte lösen nur eingerichtete, befugte Benutzer aus ({NORM_ACCESS}). "
            "Bitte mit --by (oder $GPV_USER) einen Benutzer nennen; gpv user list zeigt sie, "
            "gpv user add richtet einen ein.",
            norm=NORM_ACCESS,
        )
    if not row.enabled:
        raise RefusedError(disabled_message(row.name), norm=NORM_ACCESS)
    return User(name=row.name, party=row.party, role=row.role, enabled=bool(row.enabled))


def audit_params(user: User, params: dict[str, Any]) -> dict[str, Any]:
    """The audit entry's params with the acting user's party (``acting_party``); the embedded
    user's party is the case's carrier, already on the case, so its entries stay as they were."""
    if user.is_embedded:
        return params
    return {**params, "acting_party": user.party}


def visible_case_ids(engine: Engine, user: User) -> set[str] | None:
    """The ids of the cases ``user`` may see (§ 35 Abs. 1 S. 2 SGB I), or None for all (the
    embedded user). A case manager: the cases their carrier leads. A supervisor: the cases led by,
    or with a deadline of, a party they supervise. A member: the cases where their party has or
    had a deadline, gave a statement, or is involved by the person's consent. A disabled user:
    none."""
    if user.is_embedded:
        return None
    if not user.enabled:
        return set()
    with read_session(engine) as session:
        if user.role == CASE_MANAGER:
            stmt = select(col(CaseRow.id)).where(col(CaseRow.carrier) == user.party)
            return set(session.scalars(stmt).all())
        if user.role == SUPERVISOR:
            agreement = load_agreement()
            parties = {p for p in agreement.parties if agreement.supervisor_of(p) == user.party}
            return _led_by(session, parties) | _with_deadline_of(session, parties)
        if user.role == MEMBER:
            parties = {user.party}
            return _with_deadline_of(session, parties) | _involving(session, user.party)
    return set()


def _led_by(session: Session, parties: set[str]) -> set[str]:
    stmt = select(col(CaseRow.id)).where(col(CaseRow.carrier).in_(parties))
    return set(session.scalars(stmt).all())


def _with_deadline_of(session: Session, parties: set[str]) -> set[str]:
    stmt = select(col(DeadlineRow.case_id)).where(col(DeadlineRow.responsible_party).in_(parties))
    return set(session.scalars(stmt.distinct()).all())


def _involving(session: Session, party: str) -> set[str]:
    """Cases whose consent register or statement authors name ``party``: the JSON text narrows
    the rows in SQL (on SQLite and PostgreSQL alike), the lists decide."""
    needle = f'%"{party}"%'
    stmt = select(col(CaseRow.id), col(CaseRow.consented), col(CaseRow.statement_by)).where(
        or_(
            cast(col(CaseRow.consented), String).like(needle),
            cast(col(CaseRow.statement_by), String).like(needle),
        )
    )
    return {
        case_id
        for case_id, consented, statement_by in session.execute(stmt).all()
        if party in (consented or ()) or party in (statement_by or ())
    }
