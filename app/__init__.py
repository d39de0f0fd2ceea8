"""Application factory: ``create_app(config_class)`` builds a fresh app."""
from __future__ import annotations

from flask import Flask
from flask_appbuilder import AppBuilder

from config import Config, config_from_env


def create_app(config_class: type[Config] | None = None) -> Flask:
    config_class = config_class or config_from_env()
    config_class.check()  # production refuses a weak or published SECRET_KEY
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config_class)
    from flask_wtf.csrf import CSRFProtect

    from app import ops
    from app.extensions import db, migrate

    ops.init_app(app)  # request ids and logging first: everything after logs with them
    db.init_app(app)
    from app.services.text import install_column_guard

    install_column_guard()
    from app.services import db_limits

    db_limits.install()
    CSRFProtect(app)
    with app.app_context():
        from app import models  # noqa: F401  (every table on Model.metadata)
        # migrations/env.py targets FAB's Model.metadata (FAB 5 has its own base)
        migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True)
        appbuilder = AppBuilder(update_perms=False, base_template="layout.html")
        appbuilder.init_app(app, db.session)
        from app.services.record_types import register_all
        from app.views import register_views

        register_all()  # the workflow's record types, before the views and menus derived from them
        register_views(appbuilder)
        from app.security.credentials import apply_limits

        apply_limits(app, appbuilder.sm.limiter)
        appbuilder.post_init()
        app.extensions["babel"].locale_selector = _select_locale
        from app.i18n import page_lang

        app.jinja_env.globals["page_lang"] = page_lang
        from app.i18n import install_safe_gettext

        install_safe_gettext(app)

    from app.cli import register_cli
    from app.views.errors import register_error_handlers

    register_cli(app)
    register_error_handlers(app)
    from app import web

    web.install(app)
    return app


def _select_locale() -> str:
    """FAB's selector, less its habit of writing the default locale into every session.

    That write gives every response (a 404 favicon included) a Set-Cookie carrying the
    session as the request saw it; a response that set off before 单位登录 put the CSRF
    token into the session could then land after it and erase the token, so the login
    POST failed with 400.  The session now changes only when the user picks a language.
    """
    from flask import current_app, has_request_context, request, session

    languages = current_app.config["LANGUAGES"]
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")
    if has_request_context():
        chosen = request.args.get("_l_") or session.get("locale")
        if chosen in languages:
            return chosen
    return default


def _migrations_dir() -> str:
    import os

    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
