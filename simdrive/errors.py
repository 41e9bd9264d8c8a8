"""User-facing errors: the CLI prints their message on one line and exits non-zero."""


class UserError(Exception):
    """Bad input from the user (unknown name, bad value, missing file): no traceback."""
