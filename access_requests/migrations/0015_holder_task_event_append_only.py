"""The holder tasks' event log is append-only in the database too, like the request's
(0002 and 0007): UPDATE, DELETE and TRUNCATE are refused, TRUNCATE unless the transaction-local
setting ``hdh.event_log_truncate`` is 'allowed' (the test suite's flush)."""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION access_requests_holdertaskevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'access_requests_holdertaskevent is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER access_requests_holdertaskevent_append_only
    BEFORE UPDATE OR DELETE ON access_requests_holdertaskevent
    FOR EACH ROW EXECUTE FUNCTION access_requests_holdertaskevent_append_only();
CREATE OR REPLACE FUNCTION access_requests_holdertaskevent_no_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('hdh.event_log_truncate', true) = 'allowed' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'access_requests_holdertaskevent is append-only: TRUNCATE refused'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER access_requests_holdertaskevent_no_truncate
    BEFORE TRUNCATE ON access_requests_holdertaskevent
    FOR EACH STATEMENT EXECUTE FUNCTION access_requests_holdertaskevent_no_truncate();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS access_requests_holdertaskevent_no_truncate ON access_requests_holdertaskevent;
DROP FUNCTION IF EXISTS access_requests_holdertaskevent_no_truncate();
DROP TRIGGER IF EXISTS access_requests_holdertaskevent_append_only ON access_requests_holdertaskevent;
DROP FUNCTION IF EXISTS access_requests_holdertaskevent_append_only();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER access_requests_holdertaskevent_no_update BEFORE UPDATE ON access_requests_holdertaskevent
       BEGIN SELECT RAISE(ABORT, 'access_requests_holdertaskevent is append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER access_requests_holdertaskevent_no_delete BEFORE DELETE ON access_requests_holdertaskevent
       BEGIN SELECT RAISE(ABORT, 'access_requests_holdertaskevent is append-only: DELETE refused'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS access_requests_holdertaskevent_no_update;",
    "DROP TRIGGER IF EXISTS access_requests_holdertaskevent_no_delete;",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # Through a cursor without parameters: the schema editor would read "%" as one.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("access_requests", "0014_holder_tasks_for_existing_requests")]
    operations = [migrations.RunPython(forward, backward)]
