"""Who may hear of a case: the per-party consent register and the objection of § 76 SGB X.

Beyond the carriers, a statement the carrier requested and the agreement's internal bodies
(supervisors, the housing contact), a party hears of a case only once the person (a minor's
custodians) agreed to its involvement (legal-review M2-M4):

* the Pflegekasse (§ 117 Abs. 3 S. 1 SGB IX), the carrier of Hilfe zur Pflege (Abs. 3 S. 2) and of
  subsistence (Abs. 4), the Betreuungsbehörde (Abs. 5 i. V. m. § 22 Abs. 5),
* a minor's youth office (§ 117 Abs. 6 SGB IX [U]),
* the Jobcenter only where necessary and in the person's interest (§ 22 Abs. 4 SGB IX),
* the SPDI beyond the statement the carrier requested (§ 121 Abs. 3 Nr. 3 SGB IX).

Which party kinds need consent, and under which norm, is the agreement's ``[involvement]`` table.
A consent is revocable; every change is a row of the register and an audit entry.

The person may object to the statement's being passed on (§ 76 Abs. 2 Nr. 1 SGB X); the carrier
tells them of that right when it requests a statement. With the objection recorded, the
statement's author is no longer invited to the conference on its strength.

Pure: no database, no Prefect. The shell (``workflows.involvement``) loads, calls, persists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from states.agreement import Agreement
from states.decision import CaseFacts, CaseState, ConsentStatus
from states.errors import InputError, RefusedError

__all__ = [
    "NORM_OBJECTION",
    "ConsentChange",
    "ObjectionAction",
    "consent_change",
    "objection_values",
    "parse_objection_action",
    "parse_status",
]

NORM_OBJECTION = "§ 76 Abs. 2 Nr. 1 SGB X"

#: The words a case manager may type for a consent decision (English ids, German words).
_STATUS_WORDS = MappingProxyType(
    {
        "given": ConsentStatus.GIVEN,
        "erteilt": ConsentStatus.GIVEN,
        "ja": ConsentStatus.GIVEN,
        "refused": ConsentStatus.REFUSED,
        "verweigert": ConsentStatus.REFUSED,
        "nein": ConsentStatus.REFUSED,
        "revoked": ConsentStatus.REVOKED,
        "widerrufen": ConsentStatus.REVOKED,
        "zurückgenommen": ConsentStatus.REVOKED,
    }
)
#: A case in one of these states has ended: nobody is involved any more.
_ENDED = frozenset({CaseState.CLOSED, CaseState.FORWARDED, CaseState.WITHDRAWN})


class ObjectionAction(StrEnum):
    """What ``gpv case objection`` records (§ 76 Abs. 2 Nr. 1 SGB X)."""

    NOTICE = "notice"  # the person was told of the right to object
    OBJECT = "object"  # the person objects: the statement is not passed on
    WITHDRAW = "withdraw"  # the person withdraws the objection


_ACTION_WORDS = MappingProxyType(
    {
        "notice": ObjectionAction.NOTICE,
        "hinweis": ObjectionAction.NOTICE,
        "object": ObjectionAction.OBJECT,
        "widerspruch": ObjectionAction.OBJECT,
        "withdraw": ObjectionAction.WITHDRAW,
        "zurücknahme": ObjectionAction.WITHDRAW,
        "zuruecknahme": ObjectionAction.WITHDRAW,
    }
)


def _parse(text: str, words: MappingProxyType[str, StrEnum], what: str) -> str:
    found = words.get((text or "").strip().lower())
    if found is None:
        raise InputError(f"Unbekannte {what} {text!r}; möglich sind: {', '.join(words)}.")
    return str(found)


def parse_status(text: str) -> ConsentStatus:
    """``erteilt``/``given``/``ja`` … → :class:`ConsentStatus`; InputError naming the choices."""
    return ConsentStatus(_parse(text, _STATUS_WORDS, "Angabe zur Zustimmung"))


def parse_objection_action(text: str) -> ObjectionAction:
    return ObjectionAction(_parse(text, _ACTION_WORDS, "Angabe zum Widerspruch"))


@dataclass(frozen=True)
class ConsentChange:
    """A consent decision checked against the case: the norm it rests on and the case's new
    ``consented`` and ``parties`` lists."""

    party: str
    status: ConsentStatus
    norm: str
    consented: tuple[str, ...]
    parties: tuple[str, ...]


def _check_open(state: str | None, case_id: str) -> None:
    if state in _ENDED:
        raise RefusedError(
            f"Der Fall {case_id} ist beendet ({state}); eine Zustimmung zur Beteiligung ist "
            "nicht mehr zu erfassen."
        )


def consent_change(
    facts: CaseFacts,
    state: str | None,
    party: str,
    status: ConsentStatus,
    agreement: Agreement,
) -> ConsentChange:
    """Check and apply one consent decision for ``party`` on the case ``facts``.

    InputError for an unknown party, the case's own carrier or a party whose involvement needs no
    consent; RefusedError for an ended case or revoking a consent that was never given.
    """
    _check_open(state, facts.case_id)
    found = agreement.party(party.strip())  # InputError naming the known parties
    if found.id == facts.carrier:
        raise InputError(
            f"{found.name} führt den Fall {facts.case_id}; der Träger braucht keine Zustimmung."
        )
    norm = agreement.involvement_norm(found.id)
    if norm is None:
        kinds = ", ".join(agreement.involvement) or "keine"
        raise InputError(
            f"Die Beteiligung von {found.name} hängt nicht von einer Zustimmung ab; eine "
            f"Zustimmung erfassen lässt sich für diese Arten von Stellen: {kinds}."
        )
    consented = tuple(p for p in facts.consented if p != found.id)
    if status is ConsentStatus.REVOKED and found.id not in facts.consented:
        raise RefusedError(
            f"Für {found.name} ist keine Zustimmung erteilt, die sich widerrufen ließe ({norm}).",
            norm=norm,
        )
    parties = facts.parties
    if status is ConsentStatus.GIVEN:
        consented = (*consented, found.id)
        parties = tuple(dict.fromkeys((*facts.parties, found.id)))
    return ConsentChange(found.id, status, norm, consented, parties)


def objection_values(action: ObjectionAction, objected: bool, today: date) -> dict[str, object]:
    """The case columns ``action`` sets; RefusedError when it changes nothing."""
    if action is ObjectionAction.NOTICE:
        return {"objection_notice_given_on": today}
    wanted = action is ObjectionAction.OBJECT
    if wanted == objected:
        state = "liegt bereits vor" if wanted else "liegt nicht vor"
        raise RefusedError(f"Ein Widerspruch nach {NORM_OBJECTION} {state}.", norm=NORM_OBJECTION)
    return {"data_transfer_objection": wanted}
