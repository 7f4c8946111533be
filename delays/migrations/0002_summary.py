"""The dashboard's summary (delays.summary): its table, the partial indexes a percentile is read
through, and its first build from the existing rows."""

import django.db.models.expressions
from django.db import migrations, models

# By Paris quarter of delivery, then institution days (delays.summary reads per-quarter percentiles
# through it). PostgreSQL only: the expression is written as delays.summary writes it.
QUARTER_INDEX = (
    "CREATE INDEX IF NOT EXISTS delay_quarter_institution_idx ON access_requests_requestdelay "
    "((date_trunc('quarter', delivered_at AT TIME ZONE 'Europe/Paris')), (elapsed_days - applicant_days)) "
    "WHERE requires_matching AND delivered_at IS NOT NULL"
)


def quarter_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(QUARTER_INDEX)


def drop_quarter_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS delay_quarter_institution_idx")


class Migration(migrations.Migration):

    dependencies = [
        ('access_requests', '0016_event_actions_of_tasks_and_experts'),
        ('delays', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='DelaySummary',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('measure', models.CharField(max_length=24)),
                ('stage', models.CharField(blank=True, default='', max_length=32)),
                ('quarter', models.DateField()),
                ('day', models.IntegerField()),
                ('count', models.BigIntegerField(default=0)),
                ('total', models.DecimalField(decimal_places=12, default=0, max_digits=40)),
                ('met', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AddIndex(
            model_name='requestdelay',
            index=models.Index(condition=models.Q(('delivered_at__isnull', False), ('requires_matching', True), ('days_submitted__gt', 0)), fields=['days_submitted'], name='delay_submitted_idx'),
        ),
        migrations.AddIndex(
            model_name='requestdelay',
            index=models.Index(condition=models.Q(('delivered_at__isnull', False), ('requires_matching', True), ('days_cesrees_review__gt', 0)), fields=['days_cesrees_review'], name='delay_cesrees_review_idx'),
        ),
        migrations.AddIndex(
            model_name='requestdelay',
            index=models.Index(condition=models.Q(('delivered_at__isnull', False), ('requires_matching', True), ('days_cnil_review__gt', 0)), fields=['days_cnil_review'], name='delay_cnil_review_idx'),
        ),
        migrations.AddIndex(
            model_name='requestdelay',
            index=models.Index(condition=models.Q(('delivered_at__isnull', False), ('requires_matching', True), ('days_contracting__gt', 0)), fields=['days_contracting'], name='delay_contracting_idx'),
        ),
        migrations.AddIndex(
            model_name='requestdelay',
            index=models.Index(condition=models.Q(('delivered_at__isnull', False), ('requires_matching', True), ('days_matching__gt', 0)), fields=['days_matching'], name='delay_matching_idx'),
        ),
        migrations.AddIndex(
            model_name='requestdelay',
            index=models.Index(condition=models.Q(('delivered_at__isnull', False), ('requires_matching', True), ('days_extraction__gt', 0)), fields=['days_extraction'], name='delay_extraction_idx'),
        ),
        migrations.AddIndex(
            model_name='requestdelay',
            index=models.Index(condition=models.Q(('delivered_at__isnull', False), ('requires_matching', True), ('days_awaiting_applicant__gt', 0)), fields=['days_awaiting_applicant'], name='delay_awaiting_applicant_idx'),
        ),
        migrations.AddIndex(
            model_name='requestdelay',
            index=models.Index(condition=models.Q(('delivered_at__isnull', False), ('requires_matching', True)), fields=['elapsed_days'], name='delay_elapsed_idx'),
        ),
        migrations.AddIndex(
            model_name='requestdelay',
            index=models.Index(django.db.models.expressions.CombinedExpression(models.F('elapsed_days'), '-', models.F('applicant_days')), condition=models.Q(('delivered_at__isnull', False), ('requires_matching', True)), name='delay_institution_idx'),
        ),
        migrations.AddIndex(
            model_name='requestdelay',
            index=models.Index(condition=models.Q(('ended_at__isnull', True), ('requires_matching', True)), fields=['deadline', 'request'], name='delay_open_target_idx'),
        ),
        migrations.AddIndex(
            model_name='requestdelay',
            index=models.Index(condition=models.Q(('ended_at__isnull', True)), fields=['computed_at'], name='delay_open_computed_idx'),
        ),
        migrations.AddConstraint(
            model_name='delaysummary',
            constraint=models.UniqueConstraint(fields=('measure', 'stage', 'quarter', 'day'), name='delay_summary_key'),
        ),
        migrations.RunPython(quarter_index, drop_quarter_index),
        # The summary of the rows already there is built by migration 0004 (rebuild_summary reads
        # the table that migration creates too).
    ]
