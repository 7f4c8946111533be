"""Form fields for documents: the file name a form accepts, and a field taking several files.

What a document must hold is checked by ``access_requests.attachments.check_upload`` (content,
size, type); these fields only refuse, with a clear message, a name that no document needs, so
that the user renames the file before it goes further.
"""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

MAX_NAME_LENGTH = 200
# Characters no document name needs: markup, path and shell separators, wildcards, control codes.
HOSTILE_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
ACCEPTED_TYPES = ".pdf,.odt,.docx,application/pdf,application/vnd.oasis.opendocument.text," \
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NAME_REFUSED = _("Le nom du fichier n'est pas accepté (caractères < > : \" / \\ | ? *, caractères de contrôle, "
                 "nom caché ou de plus de 200 caractères) : renommez le fichier, puis déposez-le de nouveau.")


def check_file_name(uploaded):
    """``uploaded`` if its name is acceptable, else a ValidationError saying why."""
    name = uploaded.name or ""
    if len(name) > MAX_NAME_LENGTH or name.startswith(".") or HOSTILE_NAME.search(name):
        raise forms.ValidationError(NAME_REFUSED)
    return uploaded


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Zero or more documents (Django's documented pattern for a multiple file input), each name
    checked; ``max_files`` at most."""

    def __init__(self, *args, max_files: int = 5, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPTED_TYPES}))
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_empty_file", True)  # check_upload says "Le fichier est vide." itself
        self.max_files = max_files
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        files = [single(item, initial) for item in data] if isinstance(data, list | tuple) else (
            [single(data, initial)] if data else [])
        files = [item for item in files if item]
        if len(files) > self.max_files:
            raise forms.ValidationError(_("Joignez au plus %(n)d fichiers à un message.") % {"n": self.max_files})
        return [check_file_name(item) for item in files]
