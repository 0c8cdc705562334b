"""A living sample for ``gpv run --demo``: about 40 cases in all ten towns and every stage.

Every case is built only through :func:`workflows.service.open_case` and
:func:`workflows.service.fire`, with effective dates (``at``) in the past, so the audit history,
the deadlines and the outbox are exactly what real use would have produced. Relative to ``now``
some reminders are due, some deadlines are overdue (the first sweep escalates them), and every
stage of the case and its sub-processes is present. The people are invented; no real data.

Idempotent: when the store holds any case, nothing is added.

:func:`seed_demo_users` adds the demo's users, one of each kind the web front end serves (a case
manager of the LWL, an SPDI doctor, a youth-office member, the LWL's supervisor), each with a
random one-time password that is returned once for the terminal and stored only as its Argon2
hash; when any user exists, none is added.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any

from states.agreement import load_agreement
from states.calendar import BERLIN
from workflows.seeding.plans import decision_params

BY = "demo"


@dataclass(frozen=True)
class Person:
    """Facts routing needs; ``age`` in years on the day of receipt; ``school`` the school status
    (required from 5 to 25 years, AG-SGB IX NRW § 1 Abs. 2 S. 1)."""

    age: int
    disabilities: str
    benefit: str
    school_finished_years_ago: int | None = None
    school: str | None = None


ADULT_MENTAL = Person(34, "mental", "supported_living", school_finished_years_ago=15)
ADULT_INTELLECTUAL = Person(27, "intellectual", "sheltered_workshop", school_finished_years_ago=8)
ADULT_ADDICTION = Person(45, "addiction", "supported_living", school_finished_years_ago=28)
PUPIL_PHYSICAL = Person(11, "physical", "school_assistant", school="in_school")
PERSONS = (ADULT_MENTAL, ADULT_INTELLECTUAL, PUPIL_PHYSICAL, ADULT_ADDICTION)

#: A step: (days after receipt, trigger, params). A callable params gets the step's ``at``.
Step = tuple[int, str, dict[str, str] | Callable[[datetime], dict[str, str]]]


def _conference(days_ahead: int) -> Callable[[datetime], dict[str, str]]:
    """Params for schedule_conference: the first working day ``days_ahead`` after ``at`` in the
    agreement's holiday region."""

    def params(at: datetime) -> dict[str, str]:
        from states.calendar import is_working_day

        region = load_agreement().holiday_region
        day = at.astimezone(BERLIN).date() + timedelta(days=days_ahead)
        while not is_working_day(day, region=region):
            day += timedelta(days=1)
        return {"date": f"{day.isoformat()}T10:00", "location": "Kreishaus Unna, Raum 2.14"}

    return params


def _plan(at: datetime) -> dict[str, str]:
    """The plan's review date, as the seed gives it (:func:`decision_params`)."""
    return decision_params("draw_up_plan", at.astimezone(BERLIN).date())


def _approval(at: datetime) -> dict[str, str]:
    """An approval for two years, as the seed gives it (§ 120 Abs. 2 SGB IX)."""
    return decision_params("issue_decision", at.astimezone(BERLIN).date())


ACCEPT: Step = (1, "accept_jurisdiction", {})

#: (name, received days ago, steps). Days are calendar days; comments give the picture on the
#: dashboard right after seeding (§ 14 periods: jurisdiction 2 weeks, decision 3 weeks).
SCENARIOS: tuple[tuple[str, int, tuple[Step, ...]], ...] = (
    ("received", 1, ()),
    ("received, jurisdiction reminder due", 10, ()),
    ("received, jurisdiction overdue", 19, ()),
    ("forwarded", 6, ((2, "forward", {"reason": "Schulzeit: Kreis Unna zuständig"}),)),
    (
        "plan drawn up, decision due",
        24,
        (
            ACCEPT,
            (2, "request_statement", {}),
            (9, "deliver_statement", {}),
            (14, "determine_benefits", {}),
            (15, "draw_up_plan", _plan),
        ),
    ),
    ("assessment, decision reminder due", 16, (ACCEPT,)),
    ("statement requested", 9, (ACCEPT, (2, "request_statement", {}))),
    (
        "statement accepted, reminder due",
        14,
        (ACCEPT, (2, "request_statement", {}), (3, "accept_statement_request", {})),
    ),
    ("statement overdue", 30, (ACCEPT, (3, "request_statement", {}))),
    (
        "statement declined",
        12,
        (
            ACCEPT,
            (2, "request_statement", {}),
            (5, "decline_statement_request", {"reason": "Behandlung läuft bereits extern"}),
        ),
    ),
    ("consent pending", 7, (ACCEPT, (2, "request_consent", {}))),
    (
        "conference scheduled",
        15,
        (
            ACCEPT,
            (2, "request_consent", {}),
            (4, "give_consent", {}),
            (13, "schedule_conference", _conference(9)),
        ),
    ),
    ("housing requested, overdue", 26, (ACCEPT, (3, "request_housing_support", {}))),
    (
        "housing provided",
        20,
        (
            ACCEPT,
            (2, "request_housing_support", {}),
            (4, "acknowledge_housing_support", {}),
            (9, "provide_housing_support", {}),
        ),
    ),
    (
        "determined, decision overdue",
        40,
        (
            ACCEPT,
            (2, "request_statement", {}),
            (9, "deliver_statement", {}),
            (14, "determine_benefits", {}),
        ),
    ),
    (
        "decided after conference",
        60,
        (
            ACCEPT,
            (2, "request_consent", {}),
            (3, "give_consent", {}),
            (4, "schedule_conference", _conference(6)),
            (14, "hold_conference", {}),
            (15, "determine_benefits", {}),
            (18, "draw_up_plan", _plan),
            (18, "issue_decision", _approval),
        ),
    ),
    (
        "closed",
        200,
        (
            ACCEPT,
            (8, "determine_benefits", {}),
            (12, "draw_up_plan", _plan),
            (12, "issue_decision", _approval),
            (150, "close", {}),
        ),
    ),
    ("withdrawn", 18, (ACCEPT, (6, "withdraw", {"reason": "Antrag zurückgenommen"}))),
    (
        "review reminder due",
        720,
        (
            ACCEPT,
            (9, "determine_benefits", {}),
            (16, "draw_up_plan", _plan),
            (16, "issue_decision", _approval),
        ),
    ),
    (
        "in review again",
        760,
        (
            ACCEPT,
            (8, "determine_benefits", {}),
            (15, "draw_up_plan", _plan),
            (15, "issue_decision", _approval),
            (745, "start_review", {}),
        ),
    ),
)


def _at(received: date, days: int, now: datetime, hour: int = 10) -> datetime:
    """``days`` after receipt at ``hour`` Berlin time, never after ``now``."""
    local = datetime.combine(received + timedelta(days=days), time(hour), tzinfo=BERLIN)
    return min(local.astimezone(UTC), now - timedelta(minutes=5))


def _forward_target(carrier: str) -> str:
    return "lwl" if carrier != "lwl" else "kreis-unna"


def seed_demo(engine: Any, now: datetime, copies: int = 2) -> int:
    """Open ``copies`` × 20 scenarios (40 cases) spread over the ten towns; returns how many cases
    were created (0 when the store already holds cases)."""
    from sqlalchemy import func, select

    from workflows import service
    from workflows.store.db import read_session
    from workflows.store.models import CaseRow

    with read_session(engine) as session:
        if session.execute(select(func.count()).select_from(CaseRow)).scalar_one():
            return 0
    today = now.astimezone(BERLIN).date()
    towns = [town.name for town in load_agreement().towns.values()]
    created = 0
    for n in range(copies * len(SCENARIOS)):
        _name, days_ago, steps = SCENARIOS[n % len(SCENARIOS)]
        # the second copy a few days apart, so the two do not look cloned
        received = today - timedelta(days=days_ago + (n // len(SCENARIOS)) * 2)
        person = PERSONS[n % len(PERSONS)]
        birth = date(received.year - person.age, 1 + n % 12, 1 + n % 27)
        school_finished = (
            date(received.year - person.school_finished_years_ago, 7, 1)
            if person.school_finished_years_ago is not None
            else None
        )
        case = service.open_case(
            engine,
            received=received,
            birth_date=birth,
            municipality=towns[n % len(towns)],
            disabilities=person.disabilities,
            benefit=person.benefit,
            school_finished=school_finished,
            school=person.school,
            person_ref=f"DEMO-{n + 1:03d}",
            contact_email=f"demo-{n + 1:03d}@example.org" if n % 3 else None,
            at=_at(received, 0, now, hour=9),
            by=BY,
        )
        for days, trigger, params in steps:
            at = _at(received, days, now)
            values = params(at) if callable(params) else dict(params)
            if trigger == "forward":
                values["to"] = _forward_target(case["carrier"])
            case = service.fire(engine, case["id"], trigger, values, at=at, by=BY)
        created += 1
    return created


#: The demo's users: name → (party, role). The names are the web tests' and the tour's.
DEMO_USERS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "fm.lwl": ("lwl", "case_manager"),
        "spdi.arzt": ("spdi", "member"),
        "jugendamt.unna": ("jugendamt-unna", "member"),
        "leitung.lwl": ("lwl-leitung", "supervisor"),
    }
)
#: 18 random bytes: 24 URL-safe characters, above the users' minimum of 12.
PASSWORD_BYTES = 18


@dataclass(frozen=True)
class DemoLogin:
    """A demo user just created and the one-time password to show once (never stored)."""

    name: str
    party: str
    role: str
    password: str = field(repr=False)


def seed_demo_users(engine: Any, now: datetime) -> list[DemoLogin]:
    """Add :data:`DEMO_USERS` with random passwords when the store has no user at all; returns
    them with their passwords (the store keeps only the hashes), or ``[]`` when users exist.

    Call it after :func:`seed_demo`: once a user exists, steps need a known user (the demo's
    cases are recorded as the embedded user ``demo``)."""
    from workflows.users import add_user, list_users

    if list_users(engine):
        return []
    logins = []
    for name, (party, role) in DEMO_USERS.items():
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        add_user(engine, name, party=party, role=role, password=password, at=now, by=BY)
        logins.append(DemoLogin(name, party, role, password))
    return logins
