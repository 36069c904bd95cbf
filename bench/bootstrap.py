"""The bench scripts' one bootstrap: the project importable and its settings chosen, Django set up if asked.

A script run as `python bench/<script>.py` has bench/ first on sys.path, so it imports this module
as `bootstrap`; the project's root is put ahead of it here. The database, the token and the rest
come from the environment (bench/run.py sets them for the processes it starts).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def project_on_path() -> Path:
    """The project's packages importable and DJANGO_SETTINGS_MODULE set (unless already); Django not set up."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "market.settings")
    return ROOT


def setup_django() -> Path:
    """project_on_path(), then django.setup(): the models and settings usable."""
    project_on_path()
    import django

    django.setup()
    return ROOT


def database_of_its_own(name: str) -> bool:
    """For a script run on its own: without DATABASE_URL, a fresh SQLite database (and a secret key) in a
    temporary folder. Returns whether the script must migrate it (a fresh one, or `--migrate` given)."""
    import tempfile

    if "DATABASE_URL" in os.environ:
        return "--migrate" in sys.argv
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(tempfile.mkdtemp(prefix=f'{name}-bench-')) / f'{name}.sqlite3'}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "x" * 50)
    return True
