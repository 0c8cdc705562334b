"""Where gpv keeps its data: the data folder and the application database URL.

``GPV_DATA_DIR`` names the data folder (default ``./.gpv``, created on demand); ``GPV_DATABASE_URL``
names the application database (default: the SQLite file ``gpv.db`` in the data folder);
``GPV_RECEIVED_BY`` the party that receives applications here (default for ``case open``).
PostgreSQL URLs use the psycopg 3 driver: ``postgresql+psycopg://user@host:5432/gpv``.
"""

from __future__ import annotations

import os
from pathlib import Path

from states.errors import ConfigError

DATA_DIR_ENV = "GPV_DATA_DIR"
#: The carrier that receives applications at this installation (``gpv case open --received-by``).
RECEIVED_BY_ENV = "GPV_RECEIVED_BY"
DATABASE_URL_ENV = "GPV_DATABASE_URL"
DEFAULT_DATA_DIR = ".gpv"
DATABASE_FILE = "gpv.db"


def data_dir() -> Path:
    """The data folder (``$GPV_DATA_DIR`` or ``./.gpv``), created if it does not exist yet."""
    path = Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser()
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
