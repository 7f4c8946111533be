"""Webhooks: each event a subscriber may see, POSTed to their address as signed JSON.

- ``services`` (every write: create, change, disable, enable, rotate the secret, delete, redeliver)
  and ``selectors`` (a person's subscriptions and deliveries): what the admin and the API call;
- ``events``: which subscriber hears of what, and what they are told (the payloads), written as
  ``WebhookDelivery`` rows inside the change's transaction (notifications/receivers.py);
- ``delivery``: the sweep that POSTs them after commit, signed, retried with backoff, and the
  subscription disabled after repeated failures, its owner told by email;
- ``signing``: the Standard Webhooks signature, in plain Python.

docs/architecture.md ("Webhooks") tells the design, docs/webhooks.md how a receiver checks a
signature.
"""
