"""RequestDelay and DelayBaseline move here from access_requests; their tables keep their names."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('access_requests', '0004_portal_backoffice_outbox'),
    ]

    operations = [
        # The tables exist (created by access_requests 0001-0004): the state moves, no SQL runs.
        migrations.SeparateDatabaseAndState(state_operations=[
                migrations.CreateModel(
                    name='DelayBaseline',
                    fields=[
                        ('key', models.CharField(default='target', max_length=32, primary_key=True, serialize=False)),
                        ('medians', models.JSONField(default=dict)),
                        ('computed_at', models.DateTimeField()),
                    ],
                    options={
                        'db_table': 'access_requests_delaybaseline',
                    },
                ),
                migrations.CreateModel(
                    name='RequestDelay',
                    fields=[
                        ('request', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='delay', serialize=False, to='access_requests.accessrequest')),
                        ('requires_matching', models.BooleanField(default=False)),
                        ('state', models.CharField(choices=[('draft', 'Brouillon'), ('submitted', 'Déposée (recevabilité)'), ('awaiting_applicant', 'Compléments demandés'), ('cesrees_review', 'Avis du CESREES'), ('cnil_review', 'Autorisation CNIL'), ('contracting', 'Conventionnement'), ('matching', 'Appariement'), ('extraction', 'Extraction'), ('delivered', 'Données mises à disposition'), ('rejected', 'Refusée'), ('withdrawn', 'Retirée'), ('closed', 'Clôturée')], max_length=32)),
                        ('submitted_at', models.DateTimeField(db_index=True)),
                        ('delivered_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                        ('ended_at', models.DateTimeField(blank=True, null=True)),
                        ('last_event_at', models.DateTimeField()),
                        ('deadline', models.DateField()),
                        ('elapsed_days', models.FloatField()),
                        ('applicant_days', models.FloatField()),
                        ('days_submitted', models.FloatField(default=0.0)),
                        ('days_cesrees_review', models.FloatField(default=0.0)),
                        ('days_cnil_review', models.FloatField(default=0.0)),
                        ('days_contracting', models.FloatField(default=0.0)),
                        ('days_matching', models.FloatField(default=0.0)),
                        ('days_extraction', models.FloatField(default=0.0)),
                        ('days_awaiting_applicant', models.FloatField(default=0.0)),
                        ('current_stage', models.CharField(blank=True, max_length=32)),
                        ('current_since', models.DateTimeField(blank=True, null=True)),
                        ('paused_stage', models.CharField(blank=True, max_length=32)),
                        ('current_due_date', models.DateField(blank=True, null=True)),
                        ('target_met', models.BooleanField(null=True)),
                        ('status', models.CharField(db_index=True, max_length=16)),
                        ('forecast_at', models.DateTimeField(blank=True, null=True)),
                        ('visits', models.JSONField(default=list)),
                        ('computed_at', models.DateTimeField()),
                    ],
                    options={
                        'verbose_name': "délai d'une demande",
                        'verbose_name_plural': 'délais des demandes',
                        'db_table': 'access_requests_requestdelay',
                        'indexes': [models.Index(fields=['requires_matching', 'delivered_at'], name='delay_target_delivered_idx')],
                    },
                ),
        ]),
    ]
