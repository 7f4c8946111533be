"""Fewer indexes to write on the event logs and the holder tasks (issue 16: every transition and
the history import write them).

The foreign keys' own indexes go where another index already leads with the same column
(``event_request_at_idx``, ``holder_task_event_idx``, ``holder_task_one_per_holder``,
``holder_task_queue_idx``); the actors' become partial (most events, all the imported ones, have
none). The fields' ``db_index`` changes in the state only, and the indexes are dropped by name:
Django's ``AlterField`` would rebuild the tables on SQLite, and a rebuild drops the append-only
triggers of migrations 0002 and 0015.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The names Django gave them (the same on PostgreSQL and SQLite).
_DROPPED = (
    "access_requests_event_request_id_4da919d8",
    "access_requests_event_actor_id_3ae0d48b",
    "access_requests_holdertaskevent_task_id_f1d62e79",
    "access_requests_holdertaskevent_actor_id_a031c39e",
    "access_requests_holdertask_request_id_182ef74a",
    "access_requests_holdertask_holder_id_4c23384e",
)
_RECREATED = {
    "access_requests_event_request_id_4da919d8": ("access_requests_event", "request_id"),
    "access_requests_event_actor_id_3ae0d48b": ("access_requests_event", "actor_id"),
    "access_requests_holdertaskevent_task_id_f1d62e79": ("access_requests_holdertaskevent", "task_id"),
    "access_requests_holdertaskevent_actor_id_a031c39e": ("access_requests_holdertaskevent", "actor_id"),
    "access_requests_holdertask_request_id_182ef74a": ("access_requests_holdertask", "request_id"),
    "access_requests_holdertask_holder_id_4c23384e": ("access_requests_holdertask", "holder_id"),
}


class Migration(migrations.Migration):

    dependencies = [
        ('access_requests', '0017_public_record'),
        ('catalog', '0004_pmsi_dataset'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='event',
                    name='actor',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='acteur'),
                ),
                migrations.AlterField(
                    model_name='event',
                    name='request',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='access_requests.accessrequest'),
                ),
                migrations.AlterField(
                    model_name='holdertask',
                    name='holder',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='tasks', to='catalog.dataholder', verbose_name='détenteur'),
                ),
                migrations.AlterField(
                    model_name='holdertask',
                    name='request',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='holder_tasks', to='access_requests.accessrequest', verbose_name='demande'),
                ),
                migrations.AlterField(
                    model_name='holdertaskevent',
                    name='actor',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='acteur'),
                ),
                migrations.AlterField(
                    model_name='holdertaskevent',
                    name='task',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='access_requests.holdertask'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{name}"' for name in _DROPPED],
                    [f'CREATE INDEX "{name}" ON "{table}" ("{column}")' for name, (table, column) in _RECREATED.items()],
                ),
            ],
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(condition=models.Q(('actor__isnull', False)), fields=['actor'], name='event_actor_idx'),
        ),
        migrations.AddIndex(
            model_name='holdertaskevent',
            index=models.Index(condition=models.Q(('actor__isnull', False)), fields=['actor'], name='holder_task_event_actor_idx'),
        ),
    ]
