"""A real OpenID Connect provider for the ProConnect tests: a small Django project of its own, built
on django-oidc-provider and started by the tests in a second process (``runner.py``), on a free port,
with its own SQLite database in a temporary folder.

It answers as ProConnect does where the client cares: the scopes ``given_name usual_name siret uid``
give those claims (``claims.py``), and the userinfo of a client registered for it is a signed JWT
(``application/jwt``, ``views.py``), signed with the key its JWKS publishes. Clients and users are
loaded by its ``provider_load`` command.
"""
