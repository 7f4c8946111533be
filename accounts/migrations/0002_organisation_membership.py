"""Organisation names normalised with a unique case-folded key; where an organisation came from;
requests to join an organisation that already has members."""

import unicodedata

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MAX_LENGTH = 200


# A frozen copy of accounts.names (a migration must not change when that module does).
def _normalise(value):
    kept = []
    for char in value or "":
        if char.isspace():
            kept.append(" ")
        elif not unicodedata.category(char).startswith("C"):
            kept.append(char)
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


def _key(value):
    return unicodedata.normalize("NFC", _normalise(value).casefold())


def normalise_names(apps, schema_editor):
    """Store every existing name normalised, with its key. Two organisations whose names become
    the same (case, spaces, invisible characters) both stay: the later one is suffixed
    " (doublon N)" so that the secretariat can merge them from the back office."""
    Organisation = apps.get_model("accounts", "Organisation")
    rows = list(Organisation.objects.order_by("pk").values_list("pk", "name", "name_key"))
    taken, final = set(), {}
    for pk, raw, _old_key in rows:
        name = _normalise(raw)[:MAX_LENGTH].strip() or f"Organisation {pk}"
        candidate, number = name, 1
        while _key(candidate) in taken:
            number += 1
            suffix = f" (doublon {number})"
            candidate = name[:MAX_LENGTH - len(suffix)].rstrip() + suffix
        taken.add(_key(candidate))
        final[pk] = candidate
    changed = [pk for pk, raw, old_key in rows if (final[pk], _key(final[pk])) != (raw, old_key)]
    # Two steps, so that a row may take a name another row is giving up.
    for pk in changed:
        Organisation.objects.filter(pk=pk).update(name=f"~migrating {pk}", name_key=f"~migrating {pk}")
    for pk in changed:
        Organisation.objects.filter(pk=pk).update(name=final[pk], name_key=_key(final[pk]))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='organisation',
            name='name_key',
            field=models.CharField(default='', editable=False, max_length=600, verbose_name='clé du nom'),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='organisation',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='créée le'),
        ),
        migrations.AddField(
            model_name='organisation',
            name='from_sign_up',
            field=models.BooleanField(default=False, editable=False, verbose_name="créée à l'inscription"),
        ),
        migrations.RunPython(normalise_names, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='organisation',
            name='name_key',
            field=models.CharField(editable=False, max_length=600, unique=True, verbose_name='clé du nom'),
        ),
        migrations.CreateModel(
            name='MembershipRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('pending', 'En attente'), ('approved', 'Acceptée'), ('refused', 'Refusée')], db_index=True, default='pending', max_length=16, verbose_name='état')),
                ('requested_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='demandée le')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='décidée le')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='décidée par')),
                ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='membership_requests', to='accounts.organisation', verbose_name='organisation')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='membership_requests', to=settings.AUTH_USER_MODEL, verbose_name='demandeur')),
            ],
            options={
                'verbose_name': 'demande de rattachement',
                'verbose_name_plural': 'demandes de rattachement',
                'ordering': ['requested_at', 'id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'pending')), fields=('user',), name='accounts_one_pending_membership_per_user')],
            },
        ),
    ]
