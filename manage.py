#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tidbok.settings")
    # A bare shell (no SECRET_KEY) is a developer's: run in development mode rather than refuse,
    # so `manage.py makemigrations --check` works anywhere. Production always sets SECRET_KEY,
    # and the web server starts from tidbok/wsgi.py, which never takes this default.
    if "SECRET_KEY" not in os.environ:
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
