"""The cooperation agreement LWL – Kreis Unna as validated data (``states/agreement.toml``).

The file holds what the statute leaves to the partners or what is not verified (domain.md § 0):
parties and their supervisors, the ten towns and their youth offices, routing assumptions, and the
deadline rules with periods and reminder lead times. It is checked completely when it loads; every
problem is a :class:`states.errors.ConfigError` naming the file, the key path and the problem.

``load_agreement()`` without a path reads ``$GPV_AGREEMENT`` or the packaged file, once per process.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

from states.calendar import Period, parse_period
from states.decision import Process
from states.errors import ConfigError, InputError
from states.glossary import BENEFIT_KINDS

DEFAULT_PATH = Path(__file__).with_name("agreement.toml")
ENV_VAR = "GPV_AGREEMENT"

PartyKind = Literal[
    "egh_carrier",
    "youth_office",
    "health_service",
    "job_centre",
    "supervisor",
    "housing_contact",
    # Bundesagentur für Arbeit: a rehabilitation carrier (§ 6 Abs. 1 Nr. 2 SGB IX).
    "employment_agency",
    # Träger der Sozialhilfe outside the Eingliederungshilfe (Hilfe zur Pflege): no
    # rehabilitation carrier (§ 6 Abs. 1 SGB IX).
    "social_assistance",
    # Pflegekasse, involved with the person's consent (§ 117 Abs. 3 S. 1 SGB IX).
    "long_term_care_fund",
    # Betreuungsbehörde, involved with the person's consent (§ 117 Abs. 5, § 22 Abs. 5 SGB IX).
    "custodianship_authority",
    # The expert whose statement a youth office obtains before it grants help under § 35a SGB VIII
    # (§ 35a Abs. 1a S. 1 SGB VIII: child and adolescent psychiatrist or psychotherapist, or a
    # doctor or psychotherapist experienced with children's mental disorders).
    "child_psychiatry_expert",
]
PARTY_KINDS: tuple[str, ...] = get_args(PartyKind)

#: The role of the case's carrier: who leads the case and records every step nobody else takes.
CARRIER = "carrier"
#: The role of whoever gives the specialist statement of a case: the SPDI (kind
#: ``health_service``) in a Gesamtplanverfahren, an expert of kind ``child_psychiatry_expert`` in a
#: youth office's case (§ 35a Abs. 1a S. 1 SGB VIII; legal-review C4). See
#: :meth:`Agreement.statement_experts`.
STATEMENT_EXPERT = "statement_expert"
#: Which party kind gives the statement, by the kind of the case's carrier (default: the SPDI).
STATEMENT_EXPERT_KINDS: Mapping[str, str] = MappingProxyType(
    {"youth_office": "child_psychiatry_expert"}
)
#: Older spellings of a role, still accepted in agreement files ("housing": the housing contact).
ROLE_ALIASES: Mapping[str, str] = MappingProxyType({"housing": "housing_contact"})
#: The roles of gpv's users (``workflows.users``): the case manager of a carrier, a member of a
#: party (the SPDI, a youth office, the housing contact …), a supervisor (reads, fires nothing).
USER_ROLES: tuple[str, ...] = ("case_manager", "member", "supervisor")
#: ``[permissions]`` when the file has none: per user role, the step actors (``TriggerSpec.actor``)
#: whose steps the role fires, when the user's party is the party acting so in the case
#: (``states.permissions``): the carrier decides and issues the Bescheid (§ 120 Abs. 2 SGB IX),
#: the expert asked gives the statement, the housing contact acknowledges.
DEFAULT_PERMISSIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "case_manager": (CARRIER,),
        "member": (STATEMENT_EXPERT, "housing_contact"),
        "supervisor": (),
    }
)
REQUIRED_RULES: tuple[str, ...] = (
    "jurisdiction",
    "decision",
    "statement",
    "review",
    "approval_end",
    "housing_ack",
    "hilfeplan_review",
)

# Party ids the routing rules name (AG-SGB IX NRW § 1, § 22 Abs. 4, § 63 Abs. 1 SGB IX); they must
# exist.
LWL = "lwl"
KREIS_UNNA = "kreis-unna"
SPDI = "spdi"
JOB_CENTRE = "jobcenter-kreis-unna"
EMPLOYMENT_AGENCY = "agentur-fuer-arbeit-hamm"
REQUIRED_PARTIES: dict[str, str] = {
    LWL: "egh_carrier",
    KREIS_UNNA: "egh_carrier",
    SPDI: "health_service",
    JOB_CENTRE: "job_centre",
    EMPLOYMENT_AGENCY: "employment_agency",
}

#: § 18 Abs. 7 SGB IX: Abs. 1–5 (incl. the Genehmigungsfiktion) do not apply to these carriers; nor
#: to the Sozialhilfe, which is no rehabilitation carrier at all (§ 6 Abs. 1 SGB IX).
NO_DEEMED_APPROVAL_KINDS: frozenset[str] = frozenset(
    {"egh_carrier", "youth_office", "social_assistance"}
)
_DEEMED_APPROVAL_KEYS = ("deemed_approval", "genehmigungsfiktion")

_PARTY_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_RULE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_EVENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Party:
    id: str
    name: str
    kind: PartyKind
    supervisor: str | None = None
    unverified: bool = False
    #: The party belongs to the service that delivers the help: it cannot give the statement of
    #: § 35a Abs. 1a SGB VIII (S. 4 there: the expert must not belong to that service).
    delivers_help: bool = False


@dataclass(frozen=True)
class Town:
    slug: str
    name: str
    aliases: tuple[str, ...]
    youth_office: str


#: Where a deadline rule's period comes from (see :attr:`DeadlineRule.basis`).
RuleBasis = Literal["statute", "agreement", "agreement_unconfirmed"]
RULE_BASES: tuple[str, ...] = ("statute", "agreement", "agreement_unconfirmed")


@dataclass(frozen=True)
class DeadlineRule:
    """A named deadline: its period, legal norm, anchor event and who must act.

    ``variants`` are the rule's other readings of the law (e.g. ``decision``: § 14 Abs. 2 S. 3,
    § 15 Abs. 4 SGB IX), each with its own period, norm and anchor event; which one applies is
    chosen from recorded facts (:mod:`states.decision_deadline`). The base reading is ``standard``.
    """

    id: str
    title: str
    norm: str
    period: Period
    anchor_event: str
    process: Process
    responsible: str  # a role: see Agreement.party_for
    reminder_lead_working_days: int
    shift: Literal["forward", "backward"] = "forward"
    reminder_event: str | None = None
    overdue_event: str = "deadline_missed"
    variants: Mapping[str, DeadlineVariant] = field(default_factory=dict)
    #: Where the period comes from: ``statute`` (the norm sets it), ``agreement`` (the
    #: cooperation agreement sets it) or ``agreement_unconfirmed`` (an assumed period of the
    #: agreement that nobody has confirmed yet: letters must not call it a "Rechtsgrundlage",
    #: legal-review m3).
    basis: RuleBasis = "statute"

    def variant(self, name: str) -> DeadlineVariant:
        """The reading ``name`` of this rule (``standard`` is the rule's own period and norm);
        InputError naming the known ones otherwise."""
        if name == STANDARD:
            return DeadlineVariant(STANDARD, self.period, self.norm, self.anchor_event)
        try:
            return self.variants[name]
        except KeyError:
            known = ", ".join([STANDARD, *self.variants])
            raise InputError(
                f"Die Fristregel {self.id!r} kennt die Variante {name!r} nicht; bekannt sind: "
                f"{known}."
            ) from None


#: The name of a rule's base reading.
STANDARD = "standard"


@dataclass(frozen=True)
class DeadlineVariant:
    """One reading of a deadline rule: its period, norm and anchor event."""

    name: str
    period: Period
    norm: str
    anchor_event: str


@dataclass(frozen=True)
class DecisionDeadlineSettings:
    """Which facts choose the variant of the decision deadline (``[decision_deadline]``).

    ``rehabilitation_carrier_kinds``: party kinds that are rehabilitation carriers (§ 6 Abs. 1
    SGB IX), the targets of a forwarding (§ 14 Abs. 1 S. 2). ``section_15_kinds``: those whose
    involvement in a case besides its carrier means § 15 Abs. 4 S. 1 SGB IX (a subset: the youth
    office's part in a minor's case is information under § 117 Abs. 6, not § 15).
    ``gesamtplankonferenz_two_months``: the reading of § 120 Abs. 1 SGB IX for a
    Gesamtplankonferenz without other carriers (see the agreement file for the dispute).
    """

    rehabilitation_carrier_kinds: frozenset[str]
    gesamtplankonferenz_two_months: bool
    section_15_kinds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NotSgbIx:
    """Where an application for a benefit outside the SGB IX belongs (legal-review C3): the party,
    its legal basis and how it proceeds (a German phrase for messages)."""

    party: str
    norm: str
    procedure: str


@dataclass(frozen=True)
class RoutingSettings:
    """Assumptions of the routing rules that are not in the statute (domain.md § 4).

    ``school_status_ages``: from and to which age (inclusive, on the day of receipt) the school
    status is required input (AG-SGB IX NRW § 1 Abs. 2 S. 1). ``post_school_benefits``: benefits
    that begin only after school. ``not_sgb_ix``: benefit kind → where it belongs instead.
    """

    school_status_ages: tuple[int, int]
    lwl_during_school: frozenset[str]
    school_benefits: frozenset[str]
    work_benefits: frozenset[str]
    post_school_benefits: frozenset[str] = frozenset()
    not_sgb_ix: Mapping[str, NotSgbIx] = field(default_factory=dict)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def _town_keys(text: str) -> set[str]:
    """Lookup keys of a town name: with umlauts, transliterated (ö → oe) and stripped (ö → o);
    separators and case ignored."""
    folded = _fold(text)
    variants = {
        folded,
        folded.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss"),
        folded.replace("ä", "a").replace("ö", "o").replace("ü", "u").replace("ß", "ss"),
    }
    return {re.sub(r"[^0-9a-zäöüß]", "", v) for v in variants} - {""}


@dataclass(frozen=True)
class Agreement:
    name: str
    valid_from: date | None
    review_by: date | None
    holiday_region: str
    parties: dict[str, Party]
    towns: dict[str, Town]
    rules: dict[str, DeadlineRule]
    routing: RoutingSettings
    decision_deadline: DecisionDeadlineSettings = field(
        default_factory=lambda: DecisionDeadlineSettings(
            frozenset({"egh_carrier", "youth_office"}), True, frozenset({"egh_carrier"})
        )
    )
    source: Path | None = None
    _town_index: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    #: Party kinds told about a case only with the person's (a minor's: the custodians') consent,
    #: and the norm of that involvement (legal-review M2-M4): ``[involvement]`` of the file.
    involvement: Mapping[str, str] = field(default_factory=dict)
    #: Per user role, the step actors it may act as (``[permissions]``; see
    #: :data:`DEFAULT_PERMISSIONS` and ``states.permissions``).
    permissions: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_PERMISSIONS)
    )

    def involvement_norm(self, party_id: str) -> str | None:
        """The norm under which ``party_id`` takes part with the person's consent, or None when
        its involvement needs no consent (a carrier, a supervisor) or cannot be consented to."""
        return self.involvement.get(self.party(party_id).kind)

    def town(self, name: str) -> Town:
        """The town for a name, slug or alias; umlauts optional, case ignored ("Boenen")."""
        for key in _town_keys(name or ""):
            slug = self._town_index.get(key)
            if slug is not None:
                return self.towns[slug]
        known = ", ".join(t.name for t in self.towns.values())
        raise InputError(f"Unbekannte Stadt oder Gemeinde {name!r}; bekannt sind: {known}.")

    def party(self, party_id: str) -> Party:
        try:
            return self.parties[party_id]
        except KeyError:
            known = ", ".join(sorted(self.parties))
            raise InputError(f"Unbekannte Partei {party_id!r}; bekannt sind: {known}.") from None

    def supervisor_of(self, party_id: str) -> str:
        """The supervising party's id; a party without a supervisor supervises itself."""
        party = self.party(party_id)
        return party.supervisor or party.id

    def party_for(self, role: str, carrier: str) -> str:
        """The party id that acts in ``role``: the case's ``carrier`` for ``"carrier"``, the one
        party of a kind (``"health_service"``, ``"housing_contact"``), or a party id as it stands.

        Roles come from the agreement file (a rule's ``responsible``, checked on load) and from the
        process definitions (a step's actor), never from user input; a role that names nothing
        is a ConfigError naming the agreement file."""
        try:
            return _party_for(self.parties, role, carrier)
        except LookupError as exc:
            raise ConfigError(f"{self.source}: {exc.args[0]}") from None

    def statement_experts(self, carrier: str) -> list[Party]:
        """Who may give the specialist statement in a case of ``carrier``, in file order: the
        parties of the kind :data:`STATEMENT_EXPERT_KINDS` names for the carrier's kind (the SPDI
        otherwise), without those that deliver the help (§ 35a Abs. 1a S. 4 SGB VIII)."""
        return _statement_experts(self.parties, carrier)

    def housing_party(self) -> str:
        """The one party of kind ``housing_contact`` (checked on load)."""
        return self.party_for("housing_contact", "")

    def rule(self, rule_id: str) -> DeadlineRule:
        try:
            return self.rules[rule_id]
        except KeyError:
            known = ", ".join(sorted(self.rules))
            raise InputError(f"Unbekannte Fristregel {rule_id!r}; bekannt sind: {known}.") from None


def _party_for(parties: Mapping[str, Party], role: str, carrier: str) -> str:
    """:meth:`Agreement.party_for` over ``parties``; LookupError with a German sentence when the
    role names no party, or a kind without exactly one party."""
    if role == CARRIER:
        return carrier
    if role == STATEMENT_EXPERT:
        experts = _statement_experts(parties, carrier)
        # Several experts qualify: the request names one (recorded with the statement); the role
        # then stands for "the expert of the case" and is its own name.
        return experts[0].id if len(experts) == 1 else STATEMENT_EXPERT
    kind = ROLE_ALIASES.get(role, role)
    if kind in PARTY_KINDS:
        found = [p.id for p in parties.values() if p.kind == kind]
        if len(found) != 1:
            raise LookupError(
                f"Genau eine Partei der Art {kind!r} ist nötig, gefunden: {len(found)}."
            )
        return found[0]
    if role in parties:
        return role
    raise LookupError(_unknown_role(role))


def _statement_experts(parties: Mapping[str, Party], carrier: str) -> list[Party]:
    """:meth:`Agreement.statement_experts` over ``parties``."""
    own = parties.get(carrier)
    kind = STATEMENT_EXPERT_KINDS.get(own.kind if own is not None else "", "health_service")
    return [p for p in parties.values() if p.kind == kind and not p.delivers_help]


def _unknown_role(role: object) -> str:
    return (
        f"Unbekannter Wert {role!r}; erlaubt sind: {CARRIER}, eine Parteiart "
        f"({', '.join(PARTY_KINDS)}) oder eine Party-ID."
    )


def deemed_approval_applies(party: Party) -> bool:
    """Whether the Genehmigungsfiktion of § 18 Abs. 3 SGB IX can apply to this party.

    Never for Träger der Eingliederungshilfe or the Jugendhilfe (youth offices): § 18 Abs. 7 SGB IX
    excludes them from Abs. 1–5. gpv models no other rehabilitation carrier as a deciding party, so
    no rule ever produces a deemed approval; the 2-month mark is at most a soft warning.
    """
    return party.kind not in NO_DEEMED_APPROVAL_KINDS


# --------------------------------------------------------------------------------------------------
# Loading and validation


class _Checker:
    """Reads values out of the parsed TOML and raises ConfigError naming file, key and problem."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {problem}")

    def table(self, data: Mapping[str, Any], key: str, prefix: str = "") -> Mapping[str, Any]:
        full = f"{prefix}{key}"
        value = data.get(key)
        if value is None:
            raise self.fail(full, "Die Tabelle fehlt.")
        if not isinstance(value, dict):
            raise self.fail(full, "Hier wird eine Tabelle erwartet.")
        return value

    def string(
        self, data: Mapping[str, Any], key: str, prefix: str, *, required: bool = True
    ) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(prefix + key, "Der Wert fehlt.")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(prefix + key, f"Erwartet wird ein nicht leerer Text, nicht {value!r}.")
        return value

    def req_string(self, data: Mapping[str, Any], key: str, prefix: str) -> str:
        value = self.string(data, key, prefix)
        assert value is not None
        return value

    def boolean(self, data: Mapping[str, Any], key: str, prefix: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(prefix + key, f"Erwartet wird true oder false, nicht {value!r}.")
        return value

    def integer(self, data: Mapping[str, Any], key: str, prefix: str, low: int, high: int) -> int:
        value = data.get(key)
        if value is None:
            raise self.fail(prefix + key, "Der Wert fehlt.")
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(
                prefix + key,
                f"Erwartet wird eine ganze Zahl von {low} bis {high}, nicht {value!r}.",
            )
        return value

    def a_date(self, data: Mapping[str, Any], key: str, prefix: str) -> date | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, date):
            raise self.fail(prefix + key, f"Erwartet wird ein Datum (JJJJ-MM-TT), nicht {value!r}.")
        return value

    def period(
        self, data: Mapping[str, Any], key: str, prefix: str, *, required: bool = True
    ) -> Period | None:
        text = self.string(data, key, prefix, required=required)
        if text is None:
            return None
        try:
            return parse_period(text)
        except InputError as exc:
            raise self.fail(prefix + key, exc.message) from None

    def choice(
        self, data: Mapping[str, Any], key: str, prefix: str, allowed: tuple[str, ...], default=None
    ) -> str:
        value = data.get(key, default)
        if value is None:
            raise self.fail(prefix + key, "Der Wert fehlt.")
        if value not in allowed:
            raise self.fail(
                prefix + key, f"Unbekannter Wert {value!r}; erlaubt sind: {', '.join(allowed)}."
            )
        return value

    def slug_list(
        self, data: Mapping[str, Any], key: str, prefix: str, allowed: frozenset[str]
    ) -> frozenset[str]:
        value = data.get(key)
        if value is None:
            raise self.fail(prefix + key, "Der Wert fehlt.")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(prefix + key, "Erwartet wird eine Liste von Texten.")
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise self.fail(
                prefix + key,
                f"Unbekannte Leistungsart {unknown[0]!r}; "
                f"erlaubt sind: {', '.join(sorted(allowed))}.",
            )
        return frozenset(value)

    def only_keys(self, data: Mapping[str, Any], prefix: str, allowed: set[str]) -> None:
        for key in data:
            if key.casefold() in _DEEMED_APPROVAL_KEYS:
                raise self.fail(
                    prefix + key,
                    "Die Genehmigungsfiktion (§ 18 Abs. 3 SGB IX) gilt nach § 18 Abs. 7 SGB IX "
                    "nicht für Träger der Eingliederungshilfe und der Jugendhilfe; der Schlüssel "
                    "ist nicht erlaubt.",
                )
            if key not in allowed:
                raise self.fail(
                    prefix + key,
                    f"Unbekannter Schlüssel; erlaubt sind: {', '.join(sorted(allowed))}.",
                )


def _find_deemed_approval(data: Any, prefix: str, checker: _Checker) -> None:
    """Refuse a deemed-approval key anywhere in the file (§ 18 Abs. 7 SGB IX)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and key.casefold() in _DEEMED_APPROVAL_KEYS:
                checker.only_keys({key: value}, prefix, set())
            _find_deemed_approval(value, f"{prefix}{key}.", checker)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _find_deemed_approval(value, f"{prefix[:-1]}[{index}].", checker)


def _entry(raw: Mapping[str, Any], table: str, key: str, ck: _Checker) -> Mapping[str, Any]:
    """The sub-table ``[table.key]``, or a ConfigError when it is something else."""
    entry = raw[key]
    if not isinstance(entry, dict):
        raise ck.fail(f"{table}.{key}", "Hier wird eine Tabelle erwartet.")
    return entry


def _parse_party(pid: str, entry: Mapping[str, Any], ck: _Checker) -> Party:
    prefix = f"parties.{pid}."
    ck.only_keys(entry, prefix, {"name", "kind", "supervisor", "unverified", "delivers_help"})
    return Party(
        id=pid,
        name=ck.req_string(entry, "name", prefix),
        kind=ck.choice(entry, "kind", prefix, PARTY_KINDS),  # type: ignore[arg-type]
        supervisor=ck.string(entry, "supervisor", prefix, required=False),
        unverified=ck.boolean(entry, "unverified", prefix, False),
        delivers_help=ck.boolean(entry, "delivers_help", prefix, False),
    )


def _check_parties(parties: Mapping[str, Party], ck: _Checker) -> None:
    """Supervisors exist, the parties the routing rules name exist with their kind, and there is
    exactly one housing contact."""
    for pid, party in parties.items():
        if party.supervisor is not None and party.supervisor not in parties:
            raise ck.fail(
                f"parties.{pid}.supervisor", f"Die Partei {party.supervisor!r} ist nicht definiert."
            )
    for pid, kind in REQUIRED_PARTIES.items():
        if pid not in parties:
            raise ck.fail(
                f"parties.{pid}", "Die Partei fehlt; die Zuständigkeitsregeln nennen sie."
            )
        if parties[pid].kind != kind:
            raise ck.fail(f"parties.{pid}.kind", f"Erwartet wird {kind!r}.")
    try:
        _party_for(parties, "housing_contact", "")
    except LookupError as exc:
        raise ck.fail("parties", exc.args[0]) from None


def _parse_parties(raw: Mapping[str, Any], ck: _Checker) -> dict[str, Party]:
    parties: dict[str, Party] = {}
    for pid in raw:
        if not _PARTY_ID_RE.match(pid):
            raise ck.fail(
                f"parties.{pid}",
                "Party-IDs sind kleingeschriebene ASCII-Slugs (a–z, 0–9, Bindestrich).",
            )
        parties[pid] = _parse_party(pid, _entry(raw, "parties", pid, ck), ck)
    _check_parties(parties, ck)
    return parties


def _parse_town(
    slug: str, entry: Mapping[str, Any], parties: Mapping[str, Party], ck: _Checker
) -> Town:
    prefix = f"towns.{slug}."
    ck.only_keys(entry, prefix, {"name", "aliases", "youth_office"})
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise ck.fail(prefix + "aliases", "Erwartet wird eine Liste von Namen.")
    youth_office = ck.req_string(entry, "youth_office", prefix)
    if youth_office not in parties:
        raise ck.fail(prefix + "youth_office", f"Die Partei {youth_office!r} ist nicht definiert.")
    if parties[youth_office].kind != "youth_office":
        raise ck.fail(prefix + "youth_office", f"{youth_office!r} ist kein Jugendamt.")
    return Town(
        slug=slug,
        name=ck.req_string(entry, "name", prefix),
        aliases=tuple(aliases),
        youth_office=youth_office,
    )


def _index_town(town: Town, index: dict[str, str], ck: _Checker) -> None:
    """Add the lookup keys of the town's slug, name and aliases; each key names one town."""
    for label in (town.slug, town.name, *town.aliases):
        for key in _town_keys(label):
            if index.setdefault(key, town.slug) != town.slug:
                raise ck.fail(
                    f"towns.{town.slug}",
                    f"Der Name {label!r} ist nicht eindeutig (auch towns.{index[key]}).",
                )


def _parse_towns(
    raw: Mapping[str, Any], parties: Mapping[str, Party], ck: _Checker
) -> tuple[dict[str, Town], dict[str, str]]:
    towns: dict[str, Town] = {}
    index: dict[str, str] = {}
    for slug in raw:
        if not _PARTY_ID_RE.match(slug):
            raise ck.fail(f"towns.{slug}", "Ortskürzel sind kleingeschriebene ASCII-Slugs.")
        town = _parse_town(slug, _entry(raw, "towns", slug, ck), parties, ck)
        _index_town(town, index, ck)
        towns[slug] = town
    if not towns:
        raise ck.fail("towns", "Mindestens eine Stadt oder Gemeinde ist nötig.")
    return towns, index


_ROUTING_KEYS = {
    "school_status_from_age",
    "school_status_to_age",
    "lwl_during_school",
    "school_benefits",
    "work_benefits",
    "post_school_benefits",
    "not_sgb_ix",
}
#: Keys of earlier versions that must not come back silently, with the reason.
_RETIRED_ROUTING_KEYS = {
    "assume_in_school_below_age": (
        "Der Schlüssel gilt nicht mehr: Maßgeblich ist das Ende der Schulausbildung, nicht das "
        "Alter (AG-SGB IX NRW § 1 Abs. 2 S. 1). Der Schulstatus ist Pflichtangabe (--school) "
        "im Alter von school_status_from_age bis school_status_to_age."
    ),
}


def _school_status_ages(raw: Mapping[str, Any], prefix: str, ck: _Checker) -> tuple[int, int]:
    low = ck.integer(raw, "school_status_from_age", prefix, 0, 40)
    high = ck.integer(raw, "school_status_to_age", prefix, 0, 40)
    if high < low:
        raise ck.fail(
            prefix + "school_status_to_age", f"Erwartet wird ein Alter ab {low}, nicht {high}."
        )
    return low, high


def _parse_not_sgb_ix(
    raw: Mapping[str, Any], parties: Mapping[str, Party], ck: _Checker
) -> dict[str, NotSgbIx]:
    """``[routing.not_sgb_ix.<benefit>]``: party (defined), norm and procedure."""
    table = raw.get("not_sgb_ix", {})
    if not isinstance(table, dict):
        raise ck.fail("routing.not_sgb_ix", "Hier wird eine Tabelle erwartet.")
    result: dict[str, NotSgbIx] = {}
    for kind in table:
        prefix = f"routing.not_sgb_ix.{kind}."
        if kind not in BENEFIT_KINDS:
            raise ck.fail(prefix[:-1], f"Unbekannte Leistungsart {kind!r}.")
        entry = _entry(table, "routing.not_sgb_ix", kind, ck)
        ck.only_keys(entry, prefix, {"party", "norm", "procedure"})
        party = ck.req_string(entry, "party", prefix)
        if party not in parties:
            raise ck.fail(prefix + "party", f"Die Partei {party!r} ist nicht definiert.")
        norm, procedure = (
            ck.req_string(entry, "norm", prefix),
            ck.req_string(entry, "procedure", prefix),
        )
        result[kind] = NotSgbIx(party=party, norm=norm, procedure=procedure)
    return result


def _check_routing_lists(settings: RoutingSettings, prefix: str, ck: _Checker) -> None:
    """A benefit is in at most one of the lists that decide the carrier."""
    lists = {
        "lwl_during_school": settings.lwl_during_school,
        "school_benefits": settings.school_benefits,
        "post_school_benefits": settings.post_school_benefits,
        "not_sgb_ix": frozenset(settings.not_sgb_ix),
    }
    seen: dict[str, str] = {}
    for name, kinds in lists.items():
        for kind in sorted(kinds):
            if kind in seen:
                raise ck.fail(
                    prefix + name,
                    f"{kind!r} steht auch in {seen[kind]}; eine Leistung kann nicht beides sein.",
                )
            seen[kind] = name


def _parse_routing(
    raw: Mapping[str, Any], parties: Mapping[str, Party], ck: _Checker
) -> RoutingSettings:
    prefix = "routing."
    allowed = frozenset(BENEFIT_KINDS)
    for key, why in _RETIRED_ROUTING_KEYS.items():
        if key in raw:
            raise ck.fail(prefix + key, why)
    ck.only_keys(raw, prefix, _ROUTING_KEYS)
    settings = RoutingSettings(
        school_status_ages=_school_status_ages(raw, prefix, ck),
        lwl_during_school=ck.slug_list(raw, "lwl_during_school", prefix, allowed),
        school_benefits=ck.slug_list(raw, "school_benefits", prefix, allowed),
        work_benefits=ck.slug_list(raw, "work_benefits", prefix, allowed),
        post_school_benefits=ck.slug_list(raw, "post_school_benefits", prefix, allowed),
        not_sgb_ix=_parse_not_sgb_ix(raw, parties, ck),
    )
    _check_routing_lists(settings, prefix, ck)
    return settings


_VARIANT_KEYS = {"period", "norm", "anchor_event"}
_RULE_KEYS = {
    "basis",
    "title",
    "norm",
    "period",
    "anchor_event",
    "process",
    "responsible",
    "reminder_lead_working_days",
    "shift",
    "reminder_event",
    "overdue_event",
    "variants",
}


def _event(ck: _Checker, entry: Mapping[str, Any], key: str, prefix: str, required: bool):
    value = ck.string(entry, key, prefix, required=required)
    if value is not None and not _EVENT_RE.match(value):
        raise ck.fail(
            prefix + key, f"Ereignisnamen sind snake_case (a–z, 0–9, _), nicht {value!r}."
        )
    return value


def _role(entry: Mapping[str, Any], prefix: str, parties: Mapping[str, Party], ck: _Checker) -> str:
    """A rule's ``responsible``: a role that :meth:`Agreement.party_for` resolves."""
    key = prefix + "responsible"
    role = entry.get("responsible")
    if role is None:
        raise ck.fail(key, "Der Wert fehlt.")
    if not isinstance(role, str):
        raise ck.fail(key, _unknown_role(role))
    try:
        _party_for(parties, role, "")
    except LookupError as exc:
        raise ck.fail(key, exc.args[0]) from None
    return role


def _parse_variants(rid: str, entry: Mapping[str, Any], ck: _Checker) -> dict[str, DeadlineVariant]:
    """``[deadlines.<rid>.variants.<name>]``: period, norm and (default: the rule's) anchor."""
    raw = entry.get("variants") or {}
    if not isinstance(raw, Mapping):
        raise ck.fail(f"deadlines.{rid}.variants", "Erwartet wird eine Tabelle von Varianten.")
    variants: dict[str, DeadlineVariant] = {}
    for name, value in raw.items():
        prefix = f"deadlines.{rid}.variants.{name}."
        if name == STANDARD or not _RULE_ID_RE.match(name):
            raise ck.fail(prefix[:-1], f"Variantennamen sind snake_case und nicht {STANDARD!r}.")
        if not isinstance(value, Mapping):
            raise ck.fail(prefix[:-1], "Erwartet wird eine Tabelle mit period, norm, anchor_event.")
        ck.only_keys(value, prefix, _VARIANT_KEYS)
        variants[name] = DeadlineVariant(
            name=name,
            period=ck.period(value, "period", prefix),  # type: ignore[arg-type]
            norm=ck.req_string(value, "norm", prefix),
            anchor_event=_event(ck, value, "anchor_event", prefix, False)
            or _event(ck, entry, "anchor_event", f"deadlines.{rid}.", True),
        )
    return variants


def _parse_rule(
    rid: str, entry: Mapping[str, Any], parties: Mapping[str, Party], ck: _Checker
) -> DeadlineRule:
    prefix = f"deadlines.{rid}."
    ck.only_keys(entry, prefix, _RULE_KEYS)
    return DeadlineRule(
        id=rid,
        title=ck.req_string(entry, "title", prefix),
        norm=ck.req_string(entry, "norm", prefix),
        period=ck.period(entry, "period", prefix),  # type: ignore[arg-type]
        anchor_event=_event(ck, entry, "anchor_event", prefix, True),
        process=Process(ck.choice(entry, "process", prefix, tuple(p.value for p in Process))),
        responsible=_role(entry, prefix, parties, ck),
        reminder_lead_working_days=ck.integer(entry, "reminder_lead_working_days", prefix, 0, 250),
        shift=ck.choice(entry, "shift", prefix, ("forward", "backward"), "forward"),  # type: ignore[arg-type]
        reminder_event=_event(ck, entry, "reminder_event", prefix, False),
        overdue_event=_event(ck, entry, "overdue_event", prefix, True),
        variants=_parse_variants(rid, entry, ck),
        basis=ck.choice(entry, "basis", prefix, RULE_BASES, "statute"),  # type: ignore[arg-type]
    )


def _kinds(raw: Mapping[str, Any], key: str, prefix: str, ck: _Checker) -> frozenset[str]:
    kinds = raw.get(key)
    if not isinstance(kinds, list) or not all(k in PARTY_KINDS for k in kinds):
        raise ck.fail(
            prefix + key,
            f"Erwartet wird eine Liste von Parteiarten ({', '.join(PARTY_KINDS)}), "
            f"nicht {kinds!r}.",
        )
    return frozenset(kinds)


def _parse_decision_deadline(raw: Mapping[str, Any], ck: _Checker) -> DecisionDeadlineSettings:
    prefix = "decision_deadline."
    keys = {"rehabilitation_carrier_kinds", "section_15_kinds", "gesamtplankonferenz_two_months"}
    ck.only_keys(raw, prefix, keys)
    carriers = _kinds(raw, "rehabilitation_carrier_kinds", prefix, ck)
    section_15 = _kinds(raw, "section_15_kinds", prefix, ck)
    if not section_15 <= carriers:
        raise ck.fail(
            prefix + "section_15_kinds",
            "Nur Rehabilitationsträger (rehabilitation_carrier_kinds) können nach § 15 SGB IX "
            f"beteiligt sein, nicht {sorted(section_15 - carriers)}.",
        )
    return DecisionDeadlineSettings(
        rehabilitation_carrier_kinds=carriers,
        section_15_kinds=section_15,
        gesamtplankonferenz_two_months=ck.boolean(
            raw, "gesamtplankonferenz_two_months", prefix, True
        ),
    )


def _parse_rules(
    raw: Mapping[str, Any], parties: Mapping[str, Party], ck: _Checker
) -> dict[str, DeadlineRule]:
    rules: dict[str, DeadlineRule] = {}
    for rid in raw:
        if not _RULE_ID_RE.match(rid):
            raise ck.fail(f"deadlines.{rid}", "Regel-IDs sind snake_case (a–z, 0–9, _).")
        rules[rid] = _parse_rule(rid, _entry(raw, "deadlines", rid, ck), parties, ck)
    for rid in REQUIRED_RULES:
        if rid not in rules:
            raise ck.fail(f"deadlines.{rid}", "Die Fristregel fehlt; die Prozesse brauchen sie.")
    return rules


def parse_agreement(data: Mapping[str, Any], path: Path) -> Agreement:
    """Validate parsed TOML data; ``path`` is only used in messages."""
    ck = _Checker(path)
    _find_deemed_approval(data, "", ck)
    ck.only_keys(
        data,
        "",
        {
            "agreement",
            "parties",
            "towns",
            "routing",
            "deadlines",
            "decision_deadline",
            "involvement",
            "permissions",
        },
    )
    meta = ck.table(data, "agreement")
    ck.only_keys(meta, "agreement.", {"name", "valid_from", "review_by", "holiday_region"})
    region = ck.req_string(meta, "holiday_region", "agreement.")
    from holidays import country_holidays

    if region not in country_holidays("DE").subdivisions:
        raise ck.fail(
            "agreement.holiday_region", f"Unbekannte Feiertagsregion {region!r} (z. B. NW)."
        )
    parties = _parse_parties(ck.table(data, "parties"), ck)
    towns, index = _parse_towns(ck.table(data, "towns"), parties, ck)
    return Agreement(
        name=ck.req_string(meta, "name", "agreement."),
        valid_from=ck.a_date(meta, "valid_from", "agreement."),
        review_by=ck.a_date(meta, "review_by", "agreement."),
        holiday_region=region,
        parties=parties,
        towns=towns,
        rules=_parse_rules(ck.table(data, "deadlines"), parties, ck),
        routing=_parse_routing(ck.table(data, "routing"), parties, ck),
        decision_deadline=_parse_decision_deadline(ck.table(data, "decision_deadline"), ck),
        source=path,
        _town_index=index,
        involvement=_parse_involvement(data.get("involvement", {}), ck),
        permissions=_parse_permissions(data.get("permissions"), ck),
    )


#: Kinds whose involvement never waits for consent: the carriers lead the case, supervisors and
#: the housing contact are internal to the agreement's bodies.
_NO_CONSENT_KINDS = frozenset({"egh_carrier", "supervisor", "housing_contact"})


def _parse_involvement(raw: Any, ck: _Checker) -> dict[str, str]:
    """``[involvement]``: party kind → the norm of its consent-based involvement."""
    if not isinstance(raw, Mapping):
        raise ck.fail("involvement", 'Erwartet wird eine Tabelle Parteiart = "Norm".')
    table: dict[str, str] = {}
    for kind in raw:
        if kind not in PARTY_KINDS or kind in _NO_CONSENT_KINDS:
            allowed = ", ".join(k for k in PARTY_KINDS if k not in _NO_CONSENT_KINDS)
            raise ck.fail(
                f"involvement.{kind}",
                f"Keine Parteiart, deren Beteiligung eine Zustimmung braucht; möglich: {allowed}.",
            )
        table[kind] = ck.req_string(raw, kind, "involvement.")
    return table


def _parse_permissions(raw: Any, ck: _Checker) -> dict[str, tuple[str, ...]]:
    """``[permissions]``: user role → the step actors it may act as (a list of ``carrier``,
    ``statement_expert``, party kinds); a role left out fires nothing. Without the table:
    :data:`DEFAULT_PERMISSIONS`."""
    if raw is None:
        return dict(DEFAULT_PERMISSIONS)
    if not isinstance(raw, Mapping):
        raise ck.fail("permissions", 'Erwartet wird eine Tabelle Rolle = ["Akteur", …].')
    ck.only_keys(raw, "permissions.", set(USER_ROLES))
    table: dict[str, tuple[str, ...]] = {role: () for role in USER_ROLES}
    for role, actors in raw.items():
        if not isinstance(actors, list) or not all(isinstance(a, str) for a in actors):
            raise ck.fail(f"permissions.{role}", "Erwartet wird eine Liste von Akteuren.")
        for actor in actors:
            if actor != STATEMENT_EXPERT and ROLE_ALIASES.get(actor, actor) not in (
                CARRIER,
                *PARTY_KINDS,
            ):
                raise ck.fail(
                    f"permissions.{role}",
                    f"Unbekannter Akteur {actor!r}; erlaubt sind: {CARRIER}, {STATEMENT_EXPERT} "
                    f"oder eine Parteiart ({', '.join(PARTY_KINDS)}).",
                )
        table[role] = tuple(ROLE_ALIASES.get(a, a) for a in actors)
    return table


def read_toml_file(path: Path, what: str, fix: str) -> dict[str, Any]:
    """The tables of the TOML file ``path``; any problem is a :class:`ConfigError` naming the file,
    the problem and ``fix`` (a file that is a folder, unreadable, not UTF-8 or not TOML).
    ``what`` names the file in the message ("Die Konfigurationsdatei")."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except IsADirectoryError:
        problem = f"{what} ist ein Ordner, keine Datei"
    except PermissionError:
        problem = f"{what} darf nicht gelesen werden (keine Leserechte)"
    except FileNotFoundError:
        problem = f"{what} existiert nicht"
    except OSError as exc:
        problem = f"{what} kann nicht gelesen werden ({exc.strerror or type(exc).__name__})"
    except UnicodeDecodeError as exc:
        problem = f"{what} ist nicht in UTF-8 gespeichert (Byte {exc.start + 1})"
    except tomllib.TOMLDecodeError as exc:
        problem = f"{what} ist kein gültiges TOML ({exc})"
    raise ConfigError(f"{path}: {problem}; {fix}")


def _load(path: Path) -> Agreement:
    fix = (
        f"bitte {ENV_VAR} auf eine lesbare TOML-Datei setzen (oder leeren: dann gilt die "
        "mitgelieferte Vereinbarung)."
    )
    return parse_agreement(read_toml_file(path, "Die Vereinbarungsdatei", fix), path)


def load_agreement(path: Path | None = None) -> Agreement:
    """Load and validate the agreement. ``None`` → ``$GPV_AGREEMENT`` or the packaged file.

    The default is cached per resolved path (the sweep and the CLI call this often); an explicit
    path is read anew each time. A broken file raises ConfigError every time and is never cached.
    """
    if path is None:
        env = os.environ.get(ENV_VAR)
        # Resolving the path costs a system call per folder of it: done once per setting and
        # working folder (a fire asks for the agreement on every step, issue 11).
        resolved = _resolved_default(env or "", os.getcwd() if env else "")
        return _load_default_resolved(resolved)
    return _load(Path(path).expanduser().resolve())


@lru_cache(maxsize=8)
def _resolved_default(env: str, cwd: str) -> Path:
    return (Path(env) if env else DEFAULT_PATH).expanduser().resolve()


@lru_cache(maxsize=4)
def _load_default_resolved(path: Path) -> Agreement:
    return _load(path)
