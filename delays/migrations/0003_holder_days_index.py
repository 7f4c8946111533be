"""Indexes over the data holders' delivered tasks (PostgreSQL): each holder's days to delivery,
as delays.holders sorts them (its percentiles are read through it; the instants included so that the
scan reads the index only), and the delivery instant."""

from django.db import migrations

INDEXES = (
    "CREATE INDEX IF NOT EXISTS holder_task_days_idx ON access_requests_holdertask "
    "(holder_id, ((extract(epoch FROM (delivered_at - created_at)) / 86400.0))) INCLUDE (created_at, delivered_at) "
    "WHERE delivered_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS holder_task_delivered_idx ON access_requests_holdertask (delivered_at) "
    "WHERE delivered_at IS NOT NULL",
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in INDEXES:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS holder_task_days_idx")
        schema_editor.execute("DROP INDEX IF EXISTS holder_task_delivered_idx")


class Migration(migrations.Migration):

    dependencies = [
        ("delays", "0002_summary"),
    ]

    operations = [migrations.RunPython(create, drop)]
