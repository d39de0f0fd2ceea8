"""Message markers and safe translation in templates.

Source strings are Simplified Chinese (the default UI language); the English
catalog in ``app/translations/en`` translates them.  ``N_`` marks a string for
extraction without translating it at import time: views translate service
messages with ``_()`` when they render them.

A message that carries user data (a file name, a cell, a code) is a :class:`Msg`:
the template is translated, then the values are interpolated *escaped*.  In
templates ``_()`` always escapes what it returns (Jinja's own ``_`` marks the
translated string as safe HTML, so user data inside a message ran as markup).
"""
from __future__ import annotations

from markupsafe import Markup, escape


def N_(message: str) -> str:  # noqa: N802 - gettext convention
    return message


def page_lang() -> str:
    """The BCP 47 tag for ``<html lang>`` of the language the page is rendered in."""
    from flask_babel import get_locale

    locale = get_locale()
    return "zh-CN" if locale is None or locale.language == "zh" else str(locale).replace("_", "-")


def _translate(template: str) -> str:
    from flask_babel import get_translations

    return get_translations().ugettext(template)


class Msg(str):
    """A translatable message template with values (``%(name)s`` placeholders).

    ``str(msg)`` is the Chinese text with the values filled in (logs, audit,
    tests); :meth:`translated` is the current locale's text; in a template the
    message renders translated with its values HTML-escaped.  A value that is
    itself a :class:`Msg` (a field's label, a state) is translated with it.
    """

    template: str
    params: dict

    def __new__(cls, template: str, **params):
        obj = super().__new__(cls, template % params if params else template)
        obj.template = template
        obj.params = params
        return obj

    def translated(self) -> str:
        text = _translate(self.template)
        if not self.params:
            return text
        return text % {k: v.translated() if isinstance(v, Msg) else v for k, v in self.params.items()}

    def __html__(self) -> Markup:
        text = escape(_translate(self.template))
        return text % self.params if self.params else text  # Markup % escapes each value (a Msg translated)

    def __reduce__(self):
        return (_rebuild_msg, (self.template, self.params))

    @classmethod
    def join(cls, parts, separator: str = "；") -> "Msg":
        """Several messages as one (``"；".join`` would drop their translations)."""
        return _Joined(list(parts), separator)


class _Joined(Msg):
    def __new__(cls, parts: list, separator: str):
        obj = str.__new__(cls, separator.join(str(p) for p in parts))
        obj.template, obj.params = str(obj), {}
        obj.parts, obj.separator = parts, separator
        return obj

    def translated(self) -> str:
        return self.separator.join(translate(p) for p in self.parts)

    def __html__(self) -> Markup:
        return Markup(escape(self.separator)).join(escape(translate(p)) if not isinstance(p, Msg) else p.__html__()
                                                   for p in self.parts)

    def __reduce__(self):
        return (_Joined, (self.parts, self.separator))


def _rebuild_msg(template: str, params: dict) -> Msg:
    return Msg(template, **params)


def translate(message) -> str:
    """Plain text of a message (service msgid or :class:`Msg`) in the current locale."""
    if isinstance(message, Msg):
        return message.translated()
    return _translate(str(message))


def install_safe_gettext(app) -> None:
    """Replace the templates' ``_`` / ``gettext`` with one that escapes its result."""
    from jinja2 import pass_context

    @pass_context
    def gettext(context, message, **variables):
        if isinstance(message, Msg):
            return message.__html__()
        if isinstance(message, Markup):  # already safe HTML built by our code
            return message
        text = _translate(str(message))
        if context.eval_ctx.autoescape:
            text = escape(text)
        try:
            # Jinja's newstyle gettext always formats; "%%" in literals means "%".
            return text % variables
        except (KeyError, ValueError, TypeError):
            return text

    app.jinja_env.globals.update(_=gettext, gettext=gettext)


def notify(message, category: str = "info") -> None:
    """Flash a message (a msgid or :class:`Msg`) in the reader's language — the one way the app
    flashes.  It is stored translated: a ``Msg`` would reach the next page as its Chinese
    rendering (the session keeps plain strings)."""
    from flask import flash

    flash(translate(message), category)
