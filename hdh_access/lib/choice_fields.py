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
        for obj in self.queryset.all():  # a copy: the field's queryset keeps no result cache
            yield self.choice(obj)


class ShortModelChoiceField(forms.ModelChoiceField):
    iterator = ListedChoiceIterator
