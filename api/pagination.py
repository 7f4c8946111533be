from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination


class NewestFirst(CursorPagination):
    """Cursor pagination (stable under inserts), newest first; ``page_size`` 1 to 200 (a bad one
    is a 400, not silently the default). Every list of the API is paginated this way or by one
    of the orders below."""

    ordering: str | tuple[str, ...] = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                _("Nombre entier de 1 à %(max)s attendu.") % {"max": self.max_page_size}]})
        return int(raw)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters


class OldestFirst(NewestFirst):
    """A request's log, thread and documents: in the order they happened."""

    ordering = "id"


class EventLogOrder(NewestFirst):
    """The event log's own order: by instant, then by insertion (access_requests.selectors.EVENT_ORDER)."""

    ordering = ("at", "id")


class ByCode(NewestFirst):
    """The catalogue, by code."""

    ordering = "code"
