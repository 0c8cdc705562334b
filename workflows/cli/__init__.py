"""The ``gpv`` command line.

Each command group lives in its own module and registers itself on the one Typer app. Errors
from the one error tree (:mod:`states.errors`) become a one-line message on stderr and the exit
code of their branch (2 bad input, 3 refused); no traceback ever reaches the user.
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


def _register() -> None:
    # Imported here so that `import workflows.cli` stays cheap and each group stays in its module.
    from workflows.cli import cases, dev, diagram, notify, rules, run

    for module in (rules, diagram, cases, notify, run, dev):
        module.register(app)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script; never lets a traceback through."""
    _register()
    try:
        result = app(args=list(argv) if argv is not None else None, standalone_mode=False)
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
        sys.stderr.write(
            f"Interner Fehler ({type(exc).__name__}: {exc}). Bitte melden; "
            "mit GPV_DEBUG=1 erscheint die vollständige Fehlermeldung.\n"
        )
        import os

        if os.environ.get("GPV_DEBUG"):
            raise
        sys.exit(1)
    if isinstance(result, int) and result:
        sys.exit(result)
