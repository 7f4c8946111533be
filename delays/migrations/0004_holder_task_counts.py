"""What the dashboard's summary counts of each data-holder task (delays.holders.count_tasks), and
the summary rebuilt with them (a no-op on SQLite, where it is not kept)."""

import django.db.models.deletion
from django.db import migrations, models


def build_summary(apps, schema_editor):
    from delays.summary import rebuild_summary

    rebuild_summary()


class Migration(migrations.Migration):

    dependencies = [
        ('access_requests', '0016_event_actions_of_tasks_and_experts'),
        ('delays', '0003_holder_days_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='HolderTaskCount',
            fields=[
                ('task', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='access_requests.holdertask')),
                ('request_id', models.BigIntegerField(db_index=True)),
                ('holder_id', models.BigIntegerField()),
                ('created_at', models.DateTimeField(db_index=True)),
                ('delivered', models.BooleanField()),
                ('day', models.IntegerField(null=True)),
                ('last', models.BooleanField()),
                ('open', models.BooleanField()),
                ('due_date', models.DateField(null=True)),
            ],
        ),
        migrations.RunPython(build_summary, migrations.RunPython.noop),
    ]
