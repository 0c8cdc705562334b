"""The one documented error tree of gpv.

Every error a user can cause derives from :class:`GpvError`. Messages are whole sentences that name
the cause and, where there is one, the fix and the legal reference. The command line prints the
message and exits with the class's ``exit_code``; anything else is a bug and must never reach a
user as a traceback.

Our exception hierarchy (exit code of the command line in brackets; the module where a class
lives when it is not this one):

* GpvError [1]
  x InputError [2] - bad input: an impossible date, an unknown town, trigger or case
    + ConfigError - an invalid data or configuration file (names file, key and problem)
    + NotFoundError - a case, process or deadline that does not exist
    + InvalidAddressError (notifications.message) - an e-mail address that cannot be used
  x RefusedError [3] - the rules refuse the step; a refused step changes nothing
    + TransitionRefused - wrong state, or a guard said no
    + ConflictError - someone else changed the case at the same time
  x StoreUnavailableError [4] - the application database cannot be used right now: unreachable,
    gone in the middle of a command, not a database (a broken or truncated file), disk full; what
    was not committed is not stored, so the command can be run again once the store is back
  x DeliveryError [1] (notifications.transport) - a message was not delivered
    + TemporaryDeliveryError - try again later (SMTP 4xx, timeout)
    + PermanentDeliveryError - retrying will not help (SMTP 5xx, invalid address)
  x PrefectServerError [1] (workflows.orchestration.server) - the server cannot start or be reached
  x ScaleOutError [1] (workflows.orchestration.pool) - a work pool or worker cannot be set up
  x AlertNotSentError [1] (workflows.orchestration.alerts) - a supervisor alert cannot be sent

Outside the tree on purpose:

* ProcessDefinitionError (states.machine) - a broken process table: a programming error found at
  import, never caused by a user; the command line reports it as an internal error [1].
"""

from __future__ import annotations


class GpvError(Exception):
    """Base of every error gpv raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, norm: str | None = None) -> None:
        self.message = message
        self.norm = norm
        super().__init__(message)

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class InputError(GpvError):
    """Bad input: an impossible date, an unknown town, trigger or case, a malformed value."""

    exit_code = 2


class ConfigError(InputError):
    """An invalid data or configuration file; the message names file, key and problem."""


class NotFoundError(InputError):
    """A case, process or deadline that does not exist."""


class RefusedError(GpvError):
    """The rules refuse the step: wrong state, failed guard, deadline passed, concurrent change.

    A refused step changes nothing.
    """

    exit_code = 3


class StoreUnavailableError(GpvError):
    """The application database cannot be used: unreachable, gone mid-command, not a database,
    full. Nothing uncommitted was stored; the message names the database (never a value)."""

    exit_code = 4


class TransitionRefused(RefusedError):
    """The trigger is not allowed from the current state, or a guard/validator said no."""


class ConflictError(RefusedError):
    """Someone else changed the case at the same time; reload and try again."""
