"""The real clamd of tests/clamd.py, for the INSTREAM client's tests."""

from tests.clamd import clamd  # noqa: F401 - the session fixture
