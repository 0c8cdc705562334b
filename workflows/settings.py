"""Where gpv keeps its data: the data folder and the application database URL.

The data folder is found as git finds its repository (issue 12): ``GPV_DATA_DIR`` when set (used
and created as given), else the nearest ``.gpv/`` holding ``gpv.db`` or ``gpv.toml`` in the
working directory or one of its parents, else ``./.gpv``, created on demand. A command that only
reads asks :func:`located_data_dir` first, so it never creates an empty store
(:class:`NoDataDirError`, exit 2). ``GPV_DATABASE_URL``
names the application database (default: the SQLite file ``gpv.db`` in the data folder);
``GPV_RECEIVED_BY`` the party that receives applications here (default for ``case open``).
PostgreSQL URLs use the psycopg 3 driver: ``postgresql+psycopg://user@host:5432/gpv``.
"""

from __future__ import annotations

import os
from pathlib import Path

from states.errors import ConfigError, InputError

DATA_DIR_ENV = "GPV_DATA_DIR"
#: The carrier that receives applications at this installation (``gpv case open --received-by``).
RECEIVED_BY_ENV = "GPV_RECEIVED_BY"
DATABASE_URL_ENV = "GPV_DATABASE_URL"
DEFAULT_DATA_DIR = ".gpv"
DATABASE_FILE = "gpv.db"
#: What marks a folder named ``.gpv`` as a data folder when walking up (the config file of
#: :mod:`workflows.delivery.config` is ``gpv.toml``).
MARKERS = (DATABASE_FILE, "gpv.toml")


class NoDataDirError(InputError):
    """A command that only reads found no data folder (exit 2); it creates none."""


def located_data_dir(start: Path | None = None) -> Path | None:
    """The data folder without creating one: ``$GPV_DATA_DIR`` when set, else the nearest
    ``.gpv/`` holding :data:`MARKERS` in ``start`` (default: the working directory) or a parent,
    else None."""
    given = os.environ.get(DATA_DIR_ENV)
    if given:
        return Path(given).expanduser()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_DATA_DIR
        if any((candidate / marker).is_file() for marker in MARKERS):
            return candidate
    return None


def existing_data_dir() -> Path:
    """For commands that only read: the located data folder, or :class:`NoDataDirError`. With
    ``$GPV_DATABASE_URL`` the store lives elsewhere, so ``./.gpv`` may be used as it is."""
    found = located_data_dir()
    if found is not None:
        return data_dir()
    if os.environ.get(DATABASE_URL_ENV):
        return data_dir()
    raise NoDataDirError(
        f"Kein gpv-Datenordner gefunden: weder {DATA_DIR_ENV} gesetzt noch ein Ordner "
        f"{DEFAULT_DATA_DIR}/ mit {' oder '.join(MARKERS)} in {Path.cwd()} oder darüber. Bitte in "
        f"den Ordner des Bestands wechseln (gpv case open legt ihn an, oder {DATA_DIR_ENV} "
        "setzen)."
    )


def data_dir() -> Path:
    """The data folder (:func:`located_data_dir`, else ``./.gpv``), created if it does not exist
    yet."""
    path = located_data_dir() or Path(DEFAULT_DATA_DIR)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        problem = "ist eine Datei, kein Ordner"
    except NotADirectoryError:
        problem = "lässt sich nicht anlegen (ein übergeordneter Pfad ist eine Datei)"
    except PermissionError:
        problem = "lässt sich nicht anlegen (keine Schreibrechte)"
    except OSError as exc:
        problem = f"lässt sich nicht anlegen ({exc.strerror or type(exc).__name__})"
    else:
        return path.resolve()
    raise ConfigError(
        f"Der Datenordner {str(path)!r} {problem}; bitte {DATA_DIR_ENV} auf einen beschreibbaren "
        "Ordner setzen."
    )


def database_url() -> str:
    """``$GPV_DATABASE_URL``, else the SQLite file ``gpv.db`` in :func:`data_dir`."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    return f"sqlite:///{data_dir() / DATABASE_FILE}"


def default_receiving_carrier() -> str | None:
    """``$GPV_RECEIVED_BY`` (a party id of the agreement), or None: then the routed carrier."""
    return (os.environ.get(RECEIVED_BY_ENV) or "").strip() or None
