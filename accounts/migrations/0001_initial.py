"""Organisation and Profile move here from access_requests; their tables keep their names."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('access_requests', '0004_portal_backoffice_outbox'),
        ('catalog', '0002_load_catalogue'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables exist (created by access_requests 0001-0004): the state moves, no SQL runs.
        migrations.SeparateDatabaseAndState(state_operations=[
                migrations.CreateModel(
                    name='Organisation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200, unique=True, verbose_name='nom')),
                        ('siret', models.CharField(blank=True, max_length=14, verbose_name='SIRET')),
                    ],
                    options={
                        'verbose_name': 'organisation',
                        'verbose_name_plural': 'organisations',
                        'db_table': 'access_requests_organisation',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Profile',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('language', models.CharField(choices=[('fr', 'Français'), ('en', 'English')], default='fr', max_length=8, verbose_name='langue')),
                        ('weekly_report', models.BooleanField(default=False, verbose_name='recevoir le rapport hebdomadaire des délais')),
                        ('data_holder', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='staff', to='catalog.dataholder', verbose_name='détenteur de données')),
                        ('organisation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='members', to='accounts.organisation', verbose_name='organisation')),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='profile', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'profil',
                        'verbose_name_plural': 'profils',
                        'db_table': 'access_requests_profile',
                    },
                ),
        ]),
    ]
