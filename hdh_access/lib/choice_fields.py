"""Model choice fields for short lists (the catalogue, the data holders, a team): their choices read
in one plain query.

Django's ModelChoiceIterator reads the rows through ``QuerySet.iterator()``, which on PostgreSQL is a
server-side cursor: DECLARE ... WITH HOLD, FETCH, CLOSE, three round trips and the result
materialised by the server, for a few dozen rows rendered at once anyway.
"""

from __future__ import annotations

from django import forms
from django.forms.models import ModelChoiceIterator


class ListedChoiceIterator(ModelChoiceIterator):
    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        rows = self.field.rows() if isinstance(self.field, ShortModelChoiceField) else self.queryset.all()
        for obj in rows:  # a copy: the field's queryset keeps no result cache
            yield self.choice(obj)


class ShortModelChoiceField(forms.ModelChoiceField):
    """A short list read once per form: ``rows()`` is what the select shows and what a view may
    look through (is the user among the team?) without a second query. Validation still asks the
    queryset, so a choice posted later is checked against the rows of that moment."""

    iterator = ListedChoiceIterator
    _rows: tuple[object, list] | None = None  # (the queryset they were read from, the rows)

    def rows(self) -> list:
        queryset = self.queryset  # a new object whenever it is set (and in each form's copy of the field)
        if queryset is None:
            return []
        if self._rows is None or self._rows[0] is not queryset:
            self._rows = (queryset, list(queryset.all()))
        return self._rows[1]
