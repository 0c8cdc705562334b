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


_registered: list[bool] = []


def _register() -> None:
    """Add every command group once per process (``main`` may be called many times in one
    process: tests, the fuzz test)."""
    if _registered:
        return
    # Imported here so that `import workflows.cli` stays cheap and each group stays in its module.
    from workflows.cli import cases, dev, diagram, involvement, notify, rules, run, users, web

    for module in (rules, diagram, cases, involvement, notify, run, users, web, dev):
        module.register(app)
    _registered.append(True)


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
    _register()
    try:
        from workflows.cli.options import check_arguments

        check_arguments(sys.argv[1:] if argv is None else argv)
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
