"""The ``gpv`` command line.

Each command group lives in its own module and registers itself on the one Typer app. Errors
from the one error tree (:mod:`states.errors`) become a one-line message on stderr and the exit
code of their branch (2 bad input, 3 refused, 4 store unavailable); a database failure that is
the store's fault (:func:`workflows.store.db.unavailable`) exits 4 as well, anything else is an
internal error (1). No traceback ever reaches the user.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer

# typer >= 0.29 vendors its own copy of click and raises that copy's exceptions (plus its own
# Abort and Exit), not click's.
from typer._click.exceptions import ClickException, UsageError
from typer.exceptions import Abort, Exit

from states.errors import GpvError

app = typer.Typer(
    name="gpv",
    help="gpv: Workflow-Engine für das Gesamtplanverfahren (SGB IX §§ 117–122), LWL – Kreis Unna.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


#: The command groups in the order ``gpv --help`` lists them.
_MODULES = ("rules", "diagram", "cases", "involvement", "notify", "run", "users", "web", "dev")
#: Which groups a command line needs, by its first word, so that ``gpv deadline`` does not import
#: (and build) every other command. A word not named here (``--help``, a typo, a command whose
#: module holds nothing else: Typer would make a lone command the whole app) registers them all.
_MODULES_OF = {
    "deadline": ("rules",),
    "route": ("rules",),
    "case": ("cases", "involvement"),
    "fire": ("cases",),
    "tasks": ("cases",),
    "sweep": ("cases",),
    "audit": ("cases",),
    "outbox": ("notify",),
    "dispatch": ("notify",),
    "config": ("notify",),
    "user": ("users",),
    "dev": ("dev",),
}
#: Per registered group, the commands and sub-apps it added to :data:`app`.
_registered: dict[str, tuple[list[Any], list[Any]]] = {}


def _register_modules(names: Sequence[str]) -> None:
    """Add the command groups of ``names`` that are not registered yet, in :data:`_MODULES`
    order."""
    import importlib

    for name in _MODULES:
        if name in names and name not in _registered:
            commands, groups = len(app.registered_commands), len(app.registered_groups)
            importlib.import_module(f"workflows.cli.{name}").register(app)
            _registered[name] = (
                app.registered_commands[commands:],
                app.registered_groups[groups:],
            )
    # Registered in several steps (tests call main repeatedly): list them in the one order anyway.
    order = [name for name in _MODULES if name in _registered]
    app.registered_commands = [c for name in order for c in _registered[name][0]]
    app.registered_groups = [g for name in order for g in _registered[name][1]]


def _register() -> None:
    """Add every command group once per process (``main`` may be called many times in one
    process: tests, the fuzz test)."""
    # Imported here so that `import workflows.cli` stays cheap and each group stays in its module.
    _register_modules(_MODULES)


def _register_for(args: Sequence[str]) -> None:
    """The command groups ``args`` needs (:data:`_MODULES_OF`), or every group."""
    needed = _MODULES_OF.get(args[0]) if args else None
    if needed is None:
        _register()
    else:
        _register_modules(needed)


def _log_internal_error(exc: BaseException) -> str | None:
    """Append where an internal error happened to ``<data>/logs/internal-errors.log``: the
    exception classes and the code locations, never a message or a value (they may quote a
    person's data). Returns the file's path, or None when it cannot be written."""
    import traceback
    from datetime import UTC, datetime

    try:
        from workflows.settings import data_dir

        folder = data_dir() / "logs"
        folder.mkdir(exist_ok=True)
        path = folder / "internal-errors.log"
        lines = [f"{datetime.now(UTC).isoformat()} {type(exc).__module__}.{type(exc).__name__}"]
        cause: BaseException | None = exc
        seen: set[int] = set()
        while cause is not None and id(cause) not in seen:
            seen.add(id(cause))
            frames = traceback.extract_tb(cause.__traceback__)
            lines += [f"  {f.filename}:{f.lineno} in {f.name}" for f in frames]
            cause = cause.__cause__ or cause.__context__
            if cause is not None:
                lines.append(f" caused by {type(cause).__module__}.{type(cause).__name__}")
        with path.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        return str(path)
    except Exception:  # logging must never turn one error into two
        return None


def _run(argv: Sequence[str] | None) -> object:
    """Run the command; a database failure that is the store's fault (a server gone, a broken
    file, a full disk) becomes :class:`~states.errors.StoreUnavailableError` (exit 4)."""
    try:
        return app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except Exception as exc:
        # Only when SQLAlchemy is loaded anyway, so that `import workflows.cli` stays cheap.
        if "sqlalchemy" not in sys.modules:
            raise
        from workflows.store.db import unavailable

        problem = unavailable(exc)
        if problem is None:
            raise
        raise problem from exc


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script; never lets a traceback through."""
    args = sys.argv[1:] if argv is None else list(argv)
    _register_for(args)
    try:
        from workflows.cli.options import check_arguments

        check_arguments(args)
        result = _run(argv)
    except UsageError as exc:
        exc.show()
        sys.exit(2)
    except Abort:
        sys.stderr.write("Abgebrochen.\n")
        sys.exit(130)
    except Exit as exc:
        sys.exit(exc.exit_code)
    except ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except GpvError as exc:
        sys.stderr.write(f"Fehler: {exc.message}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("Abgebrochen.\n")
        sys.exit(130)
    except Exception as exc:  # a bug: say so plainly, keep the traceback out of the user's face
        import os

        if os.environ.get("GPV_DEBUG"):
            raise
        where = _log_internal_error(exc)
        # Only the class: an exception's message may quote the input (a name, a diagnosis).
        sys.stderr.write(
            f"Interner Fehler ({type(exc).__name__}). Bitte melden"
            + (f"; der Ablauf ohne Falldaten steht in {where}" if where else "")
            + "; mit GPV_DEBUG=1 erscheint die vollständige Fehlermeldung.\n"
        )
        sys.exit(1)
    if isinstance(result, int) and result:
        sys.exit(result)
