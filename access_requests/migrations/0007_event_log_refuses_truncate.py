"""Refuse TRUNCATE of the event log too (a statement trigger: row triggers do not see it).

The test suite's flush between transactional tests truncates every table: it sets the
transaction-local setting ``hdh.event_log_truncate = 'allowed'`` first (tests/conftest.py).
An operator who must empty the log on purpose does the same, in one transaction, knowingly.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION access_requests_event_no_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('hdh.event_log_truncate', true) = 'allowed' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'access_requests_event is append-only: TRUNCATE refused'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER access_requests_event_no_truncate
    BEFORE TRUNCATE ON access_requests_event
    FOR EACH STATEMENT EXECUTE FUNCTION access_requests_event_no_truncate();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS access_requests_event_no_truncate ON access_requests_event;
DROP FUNCTION IF EXISTS access_requests_event_no_truncate();
"""


def forward(apps, schema_editor):
    # SQLite has no TRUNCATE: its "DELETE FROM" without WHERE is refused by 0002's trigger.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("access_requests", "0006_event_action_choices")]
    operations = [migrations.RunPython(forward, backward)]
