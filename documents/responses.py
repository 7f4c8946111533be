"""The documents as downloads: one place for their names and headers (portal, back office, API).

Each is an attachment (``Content-Disposition``) that is never cached, never sniffed as another
type and, should a browser open it, sandboxed (``Content-Security-Policy``), as the attachments'
downloads are.
"""

from __future__ import annotations

import io
from typing import IO

from django.http import FileResponse, Http404
from django.utils.translation import gettext as _

from access_requests.attachments import ensure_downloadable
from access_requests.models import AccessRequest, Attachment
from documents import builders
from documents.exceptions import ReceiptUnavailable


def download(content: bytes | IO[bytes], *, filename: str, content_type: str) -> FileResponse:
    stream = io.BytesIO(content) if isinstance(content, bytes) else content
    response = FileResponse(stream, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def attachment(item: Attachment) -> FileResponse:
    """A dossier's or a message's document, for whoever the caller found may read it: 409 while
    quarantined or when infected (``ensure_downloadable``), 404 when its file is gone."""
    ensure_downloadable(item)
    try:
        handle = item.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404(_("Le fichier de cette pièce est introuvable.")) from None
    return download(handle, filename=item.original_name, content_type=item.content_type)


def receipt(access_request: AccessRequest, *, language: str) -> FileResponse:
    """The receipt PDF, or a 404 page saying that a draft has none yet."""
    pdf = builders.receipt_pdf(access_request, language=language)
    if pdf is None:
        raise ReceiptUnavailable(_("La demande %(reference)s n'a pas encore été déposée : son accusé de réception "
                                   "sera disponible dès son dépôt.") % {"reference": access_request.reference})
    return download(pdf, filename=builders.receipt_filename(access_request, language=language),
                    content_type=builders.PDF)


def dossier_pdf(access_request: AccessRequest, *, language: str) -> FileResponse:
    return download(builders.dossier_pdf(access_request, language=language), content_type=builders.PDF,
                    filename=builders.dossier_filename(access_request, extension="pdf", language=language))


def dossier_zip(access_request: AccessRequest, *, language: str) -> FileResponse:
    return download(builders.dossier_zip(access_request, language=language), content_type=builders.ZIP,
                    filename=builders.dossier_filename(access_request, extension="zip", language=language))
