"""Message markers.

Source strings are Simplified Chinese (the default UI language); the English
catalog in ``app/translations/en`` translates them.  ``N_`` marks a string for
extraction without translating it at import time: views translate service
messages with ``_()`` when they render them.
"""


def N_(message: str) -> str:  # noqa: N802 - gettext convention
    return message


def page_lang() -> str:
    """The BCP 47 tag for ``<html lang>`` of the language the page is rendered in."""
    from flask_babel import get_locale

    locale = get_locale()
    return "zh-CN" if locale is None or locale.language == "zh" else str(locale).replace("_", "-")
