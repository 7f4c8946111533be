"""Organisation, Profile, RequestDelay, DelayBaseline and OutboxMessage leave for accounts, delays and notifications (state only; the tables stay)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('access_requests', '0004_portal_backoffice_outbox'),
        ('delays', '0001_initial'),
        ('notifications', '0001_initial'),
        ('accounts', '0001_initial'),
    ]

    operations = [
        # The tables exist (created by access_requests 0001-0004): the state moves, no SQL runs.
        migrations.SeparateDatabaseAndState(state_operations=[
                migrations.AlterField(
                    model_name='accessrequest',
                    name='organisation',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='requests', to='accounts.organisation', verbose_name='organisation demandeuse'),
                ),
                migrations.RemoveField(
                    model_name='profile',
                    name='organisation',
                ),
                migrations.DeleteModel(
                    name='OutboxMessage',
                ),
                migrations.RemoveField(
                    model_name='profile',
                    name='data_holder',
                ),
                migrations.RemoveField(
                    model_name='profile',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='requestdelay',
                    name='request',
                ),
                migrations.DeleteModel(
                    name='Organisation',
                ),
                migrations.DeleteModel(
                    name='Profile',
                ),
                migrations.DeleteModel(
                    name='RequestDelay',
                ),
                migrations.DeleteModel(
                    name='DelayBaseline',
                ),
        ]),
    ]
