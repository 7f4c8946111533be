"""OutboxMessage moves here from access_requests; its table keeps its name."""

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
                    name='OutboxMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=200, unique=True)),
                        ('to', models.EmailField(max_length=254)),
                        ('language', models.CharField(default='fr', max_length=8)),
                        ('subject', models.CharField(max_length=255)),
                        ('text', models.TextField()),
                        ('html', models.TextField(blank=True)),
                        ('attachment_name', models.CharField(blank=True, max_length=100)),
                        ('attachment_mimetype', models.CharField(blank=True, max_length=100)),
                        ('attachment_content', models.BinaryField(blank=True, default=b'')),
                        ('inline_image', models.BinaryField(blank=True, default=b'')),
                        ('inline_image_cid', models.CharField(blank=True, max_length=100)),
                        ('status', models.CharField(choices=[('pending', 'En attente'), ('sent', 'Envoyé'), ('failed', 'En échec')], db_index=True, default='pending', max_length=16)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('last_error', models.TextField(blank=True)),
                        ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('claimed_until', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'verbose_name': 'courriel sortant',
                        'verbose_name_plural': 'courriels sortants',
                        'db_table': 'access_requests_outboxmessage',
                        'ordering': ['created_at', 'id'],
                    },
                ),
        ]),
    ]
