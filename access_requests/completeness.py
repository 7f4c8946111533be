"""What a dossier must hold before it is submitted (the completeness the HDH secretariat checks).

The required texts and attachment kinds are settings (HDH_SUBMIT_REQUIRED_FIELDS and
HDH_SUBMIT_REQUIRED_ATTACHMENTS), so another hub can require other pieces. ``services.submit``
refuses an incomplete dossier; the portal shows the same list as a checklist beforehand. An
attachment the antivirus found infected counts for nothing and must be removed first (one still
waiting for its scan counts: the reviewers cannot open it before it is declared clean).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from access_requests.models import AccessRequest, AttachmentKind, ScanStatus


def _field_messages() -> dict[str, str]:
    return {
        "summary": _("Rédigez le résumé du projet."),
        "public_interest": _("Justifiez l'intérêt public du projet."),
        "methodology": _("Décrivez la méthodologie."),
        "team_members": _("Indiquez les membres de l'équipe."),
    }


def _attachment_messages() -> dict[str, str]:
    return {
        AttachmentKind.PROTOCOL: _("Joignez le protocole de l'étude (PDF, ODT ou DOCX)."),
        AttachmentKind.DATA_MANAGEMENT_PLAN: _("Joignez le plan de gestion des données (PDF, ODT ou DOCX)."),
        AttachmentKind.CNIL_FORM: _("Joignez le formulaire CNIL (PDF, ODT ou DOCX)."),
    }


def completeness_problems(request: AccessRequest) -> list[str]:
    """Everything still missing before ``request`` can be submitted, as clear sentences.

    Uses the prefetched datasets and attachments when the caller loaded them.
    """
    problems: list[str] = []
    if not (request.title or "").strip():
        problems.append(_("Donnez un titre au projet."))
    messages = _field_messages()
    for name in settings.HDH_SUBMIT_REQUIRED_FIELDS:
        if not (getattr(request, name, "") or "").strip():
            problems.append(messages.get(name, _("Complétez le champ « %(name)s ».") % {"name": name}))
    if not list(request.datasets.all()):
        problems.append(_("Choisissez au moins une base de données du catalogue."))
    attachments = list(request.attachments.all())
    infected = [attachment for attachment in attachments if attachment.scan_status == ScanStatus.INFECTED]
    kinds = {attachment.kind for attachment in attachments if attachment.scan_status != ScanStatus.INFECTED}
    attachment_messages = _attachment_messages()
    for kind in settings.HDH_SUBMIT_REQUIRED_ATTACHMENTS:
        if kind not in kinds:
            problems.append(attachment_messages.get(kind, _("Joignez la pièce « %(kind)s ».") % {"kind": kind}))
    for attachment in infected:
        problems.append(_("La pièce « %(name)s » contient un virus (%(signature)s) : retirez-la du dossier.")
                        % {"name": attachment.original_name, "signature": attachment.scan_result})
    return problems
