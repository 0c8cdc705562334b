"""The seed's scenarios and case plans (pure): which path each synthetic case takes, and when.

A :class:`Scenario` is one path through the process (a list of triggers with the gaps between
them); a **profile** is a weighted mix of scenarios (:data:`PROFILES`):

- ``realistic`` (:data:`SCENARIOS`, the default): every case state and sub-process state occurs;
  most cases sit in assessment or wait for their two-yearly review. About 1 open deadline per case.
- ``peak`` (:data:`PEAK_SCENARIOS`): the busiest weeks of the year, every case received in the
  last two weeks. Most cases sit in assessment with a statement and a housing request open, i.e.
  three open deadlines each (``decision``, ``statement``, ``housing_ack``), the rest just received
  or with a statement requested (two each): about 2.9 open deadlines per case, so 100,000 cases
  give the issue's "300,000 open deadlines" (issue 3, Scale).

:func:`plans` turns a profile into ``count`` :class:`CasePlan`s (person, routing, step times),
deterministic for a given :class:`random.Random`. Generated people are synthetic (no real data).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from states.agreement import Agreement
from states.calendar import BERLIN, Period, is_working_day, nominal_end
from states.deadlines import berlin_date
from states.routing import (
    ADULT_AGE,
    FINISHED,
    IN_SCHOOL,
    PersonFacts,
    RoutingResult,
    age_on,
    route,
)


@dataclass(frozen=True)
class Scenario:
    """One path through the process. ``steps``: (trigger, min gap, max gap in days after the
    previous step); the last step happened ``last`` (min, max) days before ``now``."""

    name: str
    weight: int
    steps: tuple[tuple[str, int, int], ...]
    last: tuple[int, int]


_A = ("accept_jurisdiction", 1, 10)
_RS = ("request_statement", 0, 10)
_DS = ("deliver_statement", 5, 20)
_RC = ("request_consent", 0, 5)
_GC = ("give_consent", 2, 10)
_SC = ("schedule_conference", 1, 5)  # the conference itself is 7–20 days later
_HC = ("hold_conference", 0, 0)  # on the conference day
_RH = ("request_housing_support", 0, 5)
_AH = ("acknowledge_housing_support", 1, 10)
_PH = ("provide_housing_support", 5, 20)
_DB = ("determine_benefits", 1, 10)
_GP = ("draw_up_plan", 0, 3)  # the Gesamtplan, before an approval (§ 121 Abs. 1 SGB IX)
_ID = ("issue_decision", 1, 7)

#: The stage mix (weights in percent). Every case state and every sub-process state occurs; most
#: cases sit in assessment (the busy part of the year) or wait for their two-yearly review.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("received", 10, (), (0, 20)),
    Scenario("forwarded", 2, (("forward", 1, 10),), (0, 120)),
    Scenario("assessment", 5, (_A,), (0, 25)),
    Scenario("statement_requested", 10, (_A, _RS), (0, 21)),
    Scenario("statement_accepted", 6, (_A, _RS, ("accept_statement_request", 1, 4)), (0, 18)),
    Scenario("statement_and_housing", 14, (_A, _RS, _RH), (0, 16)),
    Scenario("statement_declined", 2, (_A, _RS, ("decline_statement_request", 2, 8)), (0, 30)),
    Scenario("consent_pending", 4, (_A, _RS, _DS, _RC), (0, 12)),
    Scenario("conference_scheduled", 4, (_A, _RS, _DS, _RC, _GC, _SC), (0, 12)),
    Scenario("consent_refused", 2, (_A, _RC, ("refuse_consent", 2, 10), _RH, _AH), (0, 30)),
    Scenario("housing_provided", 3, (_A, _RH, _AH, _PH), (0, 30)),
    Scenario("determined", 4, (_A, _RS, _DS, _DB), (0, 12)),
    Scenario("planned", 2, (_A, _RS, _DS, _DB, _GP), (0, 8)),
    Scenario("decided", 14, (_A, _RS, _DS, _DB, _GP, _ID), (0, 760)),
    Scenario(
        "decided_after_conference",
        4,
        (_A, _RH, _AH, _RC, _GC, _SC, _HC, _PH, ("close_housing_support", 1, 20), _DB, _GP, _ID),
        (0, 760),
    ),
    Scenario(
        "review_started", 4, (_A, _DB, _GP, _ID, ("start_review", 680, 725), _RS, _RH), (0, 14)
    ),
    Scenario("conference_cancelled", 1, (_A, _RC, _GC, ("cancel_conference", 1, 10)), (0, 40)),
    Scenario("closed", 3, (_A, _DB, _GP, _ID, ("close", 30, 700)), (0, 365)),
    Scenario("withdrawn", 3, (_A, _RS, _RH, ("withdraw", 2, 30)), (0, 200)),
)

#: The peak mix: cases received in the last two weeks, steps a day or two apart, so that no
#: deadline has run out yet (statement and housing_ack 2 weeks from their requests, the decision
#: 2 months from receipt once a Gesamtplankonferenz is set, § 15 Abs. 4 S. 2 with § 120 Abs. 1
#: SGB IX; while a Gutachten is awaited without one, § 14 Abs. 2 S. 2 is superseded and no
#: decision deadline runs). 90 % with three open deadlines, 10 % with two: ~2.9 per case.
_PA = ("accept_jurisdiction", 0, 2)
_PRS = ("request_statement", 0, 2)
_PRH = ("request_housing_support", 0, 2)
_PCONF = (("request_consent", 0, 1), ("give_consent", 0, 1), ("schedule_conference", 0, 1))
PEAK_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("peak_statement_and_housing", 90, (_PA, _PRS, _PRH, *_PCONF), (0, 5)),
    Scenario("peak_statement_awaited", 5, (_PA, _PRS, _PRH), (0, 8)),
    Scenario("peak_received", 5, (), (0, 9)),
)

#: Profile name → its scenario mix (``gpv dev seed --profile``).
PROFILES: Mapping[str, tuple[Scenario, ...]] = {"realistic": SCENARIOS, "peak": PEAK_SCENARIOS}

_ADULT_BENEFITS = (
    ("supported_living", 40),
    ("sheltered_workshop", 20),
    ("special_housing_form", 15),
    ("assistance_services", 10),
    ("work_participation", 8),
    ("personal_budget", 7),
)
_MINOR_BENEFITS = (
    ("school_assistant", 45),
    ("early_intervention", 25),
    ("therapeutic_day_centre", 15),
    ("daycare_centre", 15),
)
_DISABILITIES = (
    ("mental", 35),
    ("intellectual", 25),
    ("physical", 15),
    ("addiction", 10),
    ("sensory", 5),
    ("mental,physical", 5),
    ("intellectual,physical", 5),
)


def _pick(rng: random.Random, table: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


# --------------------------------------------------------------------------------------------------
# Timelines (pure)


@dataclass
class CasePlan:
    """One case to seed: who, where, its scenario and the steps with their times and params."""

    scenario: str
    person: PersonFacts
    routed: RoutingResult
    contact_email: bool
    opened_at: datetime
    steps: list[tuple[str, datetime, dict[str, str]]]


def _next_working_day(day: date, region: str) -> date:
    while not is_working_day(day, region=region):
        day += timedelta(days=1)
    return day


def _at(day: date, rng: random.Random, region: str) -> datetime:
    """A time during office hours on ``day`` or, if that is no NRW working day, the next one."""
    day = _next_working_day(day, region)
    return datetime.combine(day, time(8, 0), BERLIN) + timedelta(minutes=rng.randrange(0, 480))


def _place(
    sc: Scenario, start: date, gaps: list[int], conf_in: int, region: str, rng: random.Random
) -> tuple[datetime, list[tuple[str, datetime, dict[str, str]]]]:
    opened = _at(start, rng, region)
    steps: list[tuple[str, datetime, dict[str, str]]] = []
    prev, conference_day = opened, None
    for (trigger, _, _), gap in zip(sc.steps, gaps, strict=True):
        params: dict[str, str] = {}
        if trigger == "hold_conference" and conference_day is not None:
            at = datetime.combine(conference_day, time(14, 0), BERLIN)
        else:
            at = _at(berlin_date(prev) + timedelta(days=gap), rng, region)
        if at <= prev:
            at = prev + timedelta(minutes=rng.randrange(5, 60))
        if trigger == "schedule_conference":
            conference_day = _next_working_day(berlin_date(at) + timedelta(days=conf_in), region)
            params = {
                "date": f"{conference_day.isoformat()}T10:00",
                "location": "Kreishaus Unna, Friedrich-Ebert-Straße 17",
            }
        elif trigger == "decline_statement_request":
            params = {"reason": "Keine fachärztliche Kapazität im angefragten Zeitraum"}
        elif trigger in ("draw_up_plan", "issue_decision"):
            params = decision_params(trigger, berlin_date(at))
        steps.append((trigger, at, params))
        prev = at
    return opened, steps


def decision_params(trigger: str, day: date) -> dict[str, str]:
    """The plan's review date and the approval period. The review is the latest one every law's
    review rule allows (§ 121 Abs. 2 S. 2 SGB IX: two years; the Hilfeplan's period of the
    agreement, § 36 Abs. 2 S. 2 SGB VIII), so it fits a case of either law; the approval runs two
    years."""
    if trigger == "draw_up_plan":
        from states.agreement import load_agreement
        from states.law import LAWS

        rules = load_agreement().rules
        ends = (nominal_end(day, rules[law.review_rule].period) for law in LAWS.values())
        return {"review": min(ends).isoformat()}
    return {"outcome": "approval", "approved_until": nominal_end(day, Period(2, "y")).isoformat()}


def _timeline(
    sc: Scenario, now: datetime, region: str, rng: random.Random
) -> tuple[datetime, list[tuple[str, datetime, dict[str, str]]]]:
    """Step times such that the last step lies ``sc.last`` days before ``now`` (and before it)."""
    gaps = [rng.randint(lo, hi) for _, lo, hi in sc.steps]
    conf_in = rng.randint(7, 20)
    target = berlin_date(now) - timedelta(days=rng.randint(*sc.last))
    start = target - timedelta(days=sum(gaps))
    for _ in range(40):
        opened, steps = _place(sc, start, gaps, conf_in, region, rng)
        last = steps[-1][1] if steps else opened
        overshoot = (berlin_date(last) - target).days
        if last < now and overshoot <= 0:
            return opened, steps
        start -= timedelta(days=max(overshoot, 1))
    raise AssertionError(f"seed: no timeline for scenario {sc.name} before {now}")


def _school(birth: date, on: date, agreement: Agreement) -> str | None:
    """The school status where routing requires it (AG-SGB IX NRW § 1 Abs. 2 S. 1): the seed's
    minors are at school, its adults have finished."""
    age = age_on(birth, on)
    low, high = agreement.routing.school_status_ages
    if not low <= age <= high:
        return None
    return IN_SCHOOL if age < ADULT_AGE else FINISHED


def _person(
    rng: random.Random, agreement: Agreement, on: date
) -> tuple[PersonFacts, RoutingResult]:
    towns = sorted(agreement.towns)
    for _ in range(10):
        minor = rng.random() < 0.15
        if minor:
            birth = on - timedelta(days=rng.randint(2 * 365, 17 * 365))
            benefit = _pick(rng, _MINOR_BENEFITS)
        else:
            birth = on - timedelta(days=rng.randint(19 * 365, 75 * 365))
            benefit = _pick(rng, _ADULT_BENEFITS)
        facts = PersonFacts(
            birth_date=birth,
            municipality=rng.choice(towns),
            disabilities=frozenset(_pick(rng, _DISABILITIES).split(",")),
            benefit=benefit,
            school=_school(birth, on, agreement),
        )
        result = route(facts, on=on, agreement=agreement)
        if result.decided:
            return facts, result
    raise AssertionError("seed: routing decided none of ten generated people")


def plans(
    count: int,
    now: datetime,
    rng: random.Random,
    agreement: Agreement,
    scenarios: tuple[Scenario, ...] = SCENARIOS,
) -> list[CasePlan]:
    """``count`` case plans drawn from ``scenarios`` by weight, sorted by the time the case was
    opened (pure, deterministic)."""
    weights = [s.weight for s in scenarios]
    out = []
    for sc in rng.choices(scenarios, weights=weights, k=count):
        opened, steps = _timeline(sc, now, agreement.holiday_region, rng)
        person, routed = _person(rng, agreement, berlin_date(opened))
        out.append(CasePlan(sc.name, person, routed, rng.random() < 0.6, opened, steps))
    out.sort(key=lambda p: p.opened_at)
    return out
