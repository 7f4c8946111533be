"""Refuse any UPDATE or DELETE of an event row in the database itself."""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION access_requests_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'access_requests_event is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER access_requests_event_append_only
    BEFORE UPDATE OR DELETE ON access_requests_event
    FOR EACH ROW EXECUTE FUNCTION access_requests_event_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS access_requests_event_append_only ON access_requests_event;
DROP FUNCTION IF EXISTS access_requests_event_append_only();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER access_requests_event_no_update BEFORE UPDATE ON access_requests_event
       BEGIN SELECT RAISE(ABORT, 'access_requests_event is append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER access_requests_event_no_delete BEFORE DELETE ON access_requests_event
       BEGIN SELECT RAISE(ABORT, 'access_requests_event is append-only: DELETE refused'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS access_requests_event_no_update;",
    "DROP TRIGGER IF EXISTS access_requests_event_no_delete;",
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
    dependencies = [("access_requests", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
