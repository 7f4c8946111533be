"""Every write on an access request, in one shape (see ``core``).

``pathway`` holds one service per workflow action, ``dossier`` the writes on a dossier's
content (drafts, attachments, assignment), ``messages`` the thread (messages, internal notes,
read receipts), ``experts`` the external experts' invitations, ``follows`` a reviewer following a
request, ``tasks`` the data holders' tasks after the decision, ``scanning`` the antivirus.
Callers import this package:
``from access_requests import services``.
"""

from access_requests.services.core import facts_of, task_due_date
from access_requests.services.dossier import (
    DRAFT_TEXT_FIELDS,
    EDITABLE_STATES,
    add_attachment,
    assign,
    attach_to_organisation,
    create_draft,
    derive_requires_matching,
    next_reference,
    remove_attachment,
    update_draft,
)
from access_requests.services.experts import invite_expert, record_expert_visit, revoke_expert_invitation
from access_requests.services.follows import follow, unfollow
from access_requests.services.messages import (
    claim_unnotified,
    mark_read,
    post_message,
    requests_with_unnotified_messages,
)
from access_requests.services.pathway import (
    answer_information,
    approve_without_review,
    close,
    deliver,
    extend_review,
    forward_to_cesrees,
    record_cesrees_opinion,
    record_cnil_decision,
    record_contract_signed,
    record_matching_done,
    reject,
    request_information,
    submit,
    withdraw,
)
from access_requests.services.publication import set_public_summary, set_results_url
from access_requests.services.scanning import scan_attachment, scan_pending
from access_requests.services.tasks import (
    act_on_task,
    assign_task,
    deliver_task,
    record_task_contract_signed,
    record_task_matching_done,
    set_task_due_date,
)
from access_requests.workflow import REVIEWER_ROLES

__all__ = [
    "DRAFT_TEXT_FIELDS", "EDITABLE_STATES", "REVIEWER_ROLES", "act_on_task", "add_attachment", "answer_information",
    "approve_without_review", "assign", "assign_task", "attach_to_organisation", "claim_unnotified", "close",
    "create_draft", "deliver", "deliver_task", "derive_requires_matching", "extend_review", "facts_of", "follow",
    "forward_to_cesrees", "invite_expert", "mark_read", "next_reference", "post_message", "record_cesrees_opinion",
    "record_cnil_decision", "record_contract_signed", "record_expert_visit", "record_matching_done",
    "record_task_contract_signed", "record_task_matching_done", "reject", "remove_attachment", "request_information",
    "requests_with_unnotified_messages", "revoke_expert_invitation", "scan_attachment", "scan_pending",
    "set_public_summary", "set_results_url", "set_task_due_date", "submit", "task_due_date", "unfollow", "update_draft", "withdraw",
]
