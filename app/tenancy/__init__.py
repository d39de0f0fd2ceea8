"""Tenant scoping, in one place.

Every unit-owned model is served by a :class:`UnitScopedModelView`: it filters
by the current user's unit (FAB ``base_filters`` for list/show/edit/delete),
stamps the unit on create, and re-checks ownership where FAB does not apply
``base_filters`` (``action``, ``action_post``, related views) and in every
custom page through :meth:`UnitScopedModelView.get_owned_or_404`.
Services scope again with :func:`owned_query` (Superset's DAO base filter).
"""
from __future__ import annotations

from typing import Any

from flask import abort, g, request
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.filters import FilterEqualFunction
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

NO_UNIT = -1  # matches nothing: platform users see no unit-owned row here


def current_unit_id() -> int:
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return NO_UNIT
    return getattr(user, "unit_id", None) or NO_UNIT


def owned_query(model, unit_column: str = "unit_id"):
    """A SELECT of ``model`` limited to the current user's unit."""
    return select(model).where(getattr(model, unit_column) == current_unit_id())


def _refuse_users_without_unit():
    user = getattr(g, "user", None)
    if user is not None and getattr(user, "is_authenticated", False) and not getattr(user, "unit_id", None):
        abort(403)


class UnitScopedModelView(ModelView):
    """ModelView base for unit-owned models (one mechanism for every view)."""

    unit_column = "unit_id"
    #: extra filters (FAB ``base_filters`` format) besides the unit
    scope_filters: list[list[Any]] = []

    def __init__(self, **kwargs):
        self.base_filters = [[self.unit_column, FilterEqualFunction, current_unit_id]] + list(
            self.scope_filters
        )
        super().__init__(**kwargs)

    def create_blueprint(self, appbuilder, endpoint=None, static_folder=None):
        """Unit pages are for users of a unit: a platform account (whose FAB role may hold
        every permission) is refused with 403 instead of meeting pages built for a unit."""
        blueprint = super().create_blueprint(appbuilder, endpoint=endpoint, static_folder=static_folder)
        blueprint.before_request(_refuse_users_without_unit)
        return blueprint

    # -- ownership ---------------------------------------------------------
    def get_owned_or_404(self, pk):
        if not str(pk).isdigit() or not str(pk).isascii() or len(str(pk)) > 18:
            abort(404)
        item = self.datamodel.get(pk, self._base_filters)
        if item is None or getattr(item, self.unit_column) != current_unit_id():
            abort(404)
        return item

    def scoped_query(self):
        query = owned_query(self.datamodel.obj, self.unit_column)
        return query

    def pre_add(self, item):
        setattr(item, self.unit_column, current_unit_id())

    def pre_update(self, item):
        setattr(item, self.unit_column, current_unit_id())

    # -- FAB holes: actions and related views load rows unfiltered ----------
    @expose("/action/<string:name>/<pk>", methods=["POST"])
    def action(self, name, pk):
        """One record's action: an unknown action or another unit's id is 404 before FAB loads it."""
        if name not in self.actions:
            abort(404)
        self.get_owned_or_404(pk)
        return super().action(name, pk)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        """The ticked rows' action: every id must be the unit's own, or nothing runs (404)."""
        name = request.form.get("action", "")
        if name not in self.actions or not self.actions[name].multiple:
            abort(400)
        for pk in request.form.getlist("rowid"):
            self.get_owned_or_404(pk)
        return super().action_post()

    def _get_related_views_widgets(self, item, orders=None, pages=None, page_sizes=None, widgets=None, **args):
        if item is not None and getattr(item, self.unit_column, None) != current_unit_id():
            abort(404)
        return super()._get_related_views_widgets(item, orders=orders, pages=pages,
                                                  page_sizes=page_sizes, widgets=widgets, **args)


__all__ = ["UnitScopedModelView", "current_unit_id", "owned_query", "has_access", "NO_UNIT"]
