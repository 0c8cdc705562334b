"""When a step may be dated: never after now, unless the case manager says so on purpose.

A step's ``at`` is its legal date: it starts and ends periods (§ 26 SGB X). A step dated after
now is a typo more often than a plan, so it is refused unless ``allow_future`` is given (issue 12;
e.g. a case manager records a conference she set for next week, ``schedule_conference``).

Some steps record what somebody else did or declared: a statement that arrived, a conference that
was held, a Bescheid that went out, the person's consent. They cannot have happened yet, so a
future date is refused for them whatever ``allow_future`` says: :data:`RECORDS_WHAT_HAPPENED`.
Both refusals are :class:`~states.errors.InputError` (exit 2): the date is impossible input, not
a state the rules refuse (the error tree: "bad input: an impossible date").

Pure: ``now`` is a parameter.
"""

from __future__ import annotations

from datetime import datetime

from states.calendar import BERLIN
from states.errors import InputError
from states.triggers import TRIGGER_SPECS

#: Steps that record an event outside the carrier's hands: the date is when it happened.
RECORDS_WHAT_HAPPENED: frozenset[str] = frozenset(
    {
        "accept_statement_request",  # the expert's answer (§ 17 Abs. 1 SGB IX)
        "decline_statement_request",
        "deliver_statement",  # its arrival starts § 14 Abs. 2 S. 3 SGB IX
        "give_consent",  # the person's declaration (§ 119 Abs. 1 SGB IX)
        "refuse_consent",
        "revoke_consent",
        "hold_conference",  # § 119 SGB IX
        "issue_decision",  # the Bescheid (§ 120 Abs. 2 SGB IX) anchors review and approval
        "withdraw",  # the person's withdrawal (§ 108 Abs. 1 SGB IX)
        "acknowledge_housing_support",  # the housing contact's answer
        "provide_housing_support",
    }
)

_UNKNOWN = RECORDS_WHAT_HAPPENED - set(TRIGGER_SPECS)
if _UNKNOWN:  # a typo must fail at import, not let a future date through
    raise LookupError(f"states.step_time names unknown triggers: {sorted(_UNKNOWN)}")


def _berlin(at: datetime) -> str:
    return at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")


def check_step_time(trigger: str, at: datetime, now: datetime, *, allow_future: bool) -> None:
    """InputError when ``at`` lies after ``now``: always for :data:`RECORDS_WHAT_HAPPENED`,
    otherwise unless ``allow_future``. Both must be timezone-aware."""
    if at <= now:
        return
    spec = TRIGGER_SPECS.get(trigger)
    label = f"„{spec.label}“ ({trigger})" if spec else repr(trigger)
    when = f"{_berlin(at)} Uhr liegt nach jetzt ({_berlin(now)} Uhr, Europe/Berlin)"
    if trigger in RECORDS_WHAT_HAPPENED:
        raise InputError(
            f"Der Zeitpunkt von {label} {when}: Der Schritt hält fest, was geschehen ist, und kann "
            "noch nicht geschehen sein. Bitte --at auf den Tag setzen, an dem es geschah, oder den "
            "Schritt erfassen, wenn es geschehen ist."
        )
    if allow_future:
        return
    raise InputError(
        f"Der Zeitpunkt von {label} {when}. Ein Tippfehler im Datum? Bitte --at prüfen; wer den "
        "Schritt bewusst im Voraus erfasst, gibt --allow-future an."
    )
