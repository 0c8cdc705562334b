"""The one documented error tree of gpv.

Every error a user can cause derives from :class:`GpvError`. Messages are whole sentences that name
the cause and, where there is one, the fix and the legal reference. The command line maps the two
branches to exit codes: :class:`InputError` → 2 (bad input), :class:`RefusedError` → 3 (refused by
the rules). Anything else is a bug and must never reach a user as a traceback.
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


class TransitionRefused(RefusedError):
    """The trigger is not allowed from the current state, or a guard/validator said no."""


class ConflictError(RefusedError):
    """Someone else changed the case at the same time; reload and try again."""
