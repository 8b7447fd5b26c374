"""The one exception the CLI turns into a clean message and exit 1 (bad data, never a traceback)."""


class CsceError(Exception):
    """Bad input data: the message is one line, `FILE:LINE: reason` where a place is known."""
