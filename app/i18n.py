"""Message markers.

Source strings are Simplified Chinese (the default UI language); the English
catalog in ``app/translations/en`` translates them.  ``N_`` marks a string for
extraction without translating it at import time: views translate service
messages with ``_()`` when they render them.
"""


def N_(message: str) -> str:  # noqa: N802 - gettext convention
    return message
