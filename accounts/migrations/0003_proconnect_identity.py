"""The link between an account and its ProConnect identity (issuer and OpenID Connect subject)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_organisation_membership'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ProConnectIdentity',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('issuer', models.CharField(max_length=255, verbose_name='émetteur')),
                ('sub', models.CharField(max_length=255, verbose_name='identifiant ProConnect (sub)')),
                ('linked_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='reliée le')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='proconnect_identities', to=settings.AUTH_USER_MODEL, verbose_name='compte')),
            ],
            options={
                'verbose_name': 'identité ProConnect',
                'verbose_name_plural': 'identités ProConnect',
                'constraints': [models.UniqueConstraint(fields=('issuer', 'sub'), name='accounts_proconnect_one_account_per_identity'), models.UniqueConstraint(fields=('user', 'issuer'), name='accounts_proconnect_one_identity_per_account')],
            },
        ),
    ]
