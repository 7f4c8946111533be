"""Account emails (confirmation, "an account already exists", password reset) leave through
the outbox like every other email. ``accounts`` sits below ``notifications`` and never imports
it: it sends ``account_email`` inside the transaction that creates or changes the account, and
notifications/receivers.py renders the message and writes its outbox row in that transaction.
"""

from __future__ import annotations

from django.dispatch import Signal

# kwargs: key (unique), to, language, template (accounts/emails/<template>{_subject.txt,.txt,.html}), context
account_email = Signal()
