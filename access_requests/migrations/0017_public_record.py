# The public directory (issue 18): the public summary, the results link, the indexes of its reads.

from django.conf import settings
from django.db import migrations, models

# The public directory's full-text search (directory.selectors): a GIN index on the French
# text search vector of the title and the public summary, on PostgreSQL only (SQLite searches
# with a folded ``contains``). Frozen here: the selector builds the same expression
# (access_requests.publication.search_vector), and a test checks the index is used.
INDEX_NAME = "access_request_public_search_idx"


def _search_index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    return GinIndex(SearchVector("title", "public_summary", config="french"), name=INDEX_NAME)


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("access_requests", "AccessRequest"), _search_index())


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("access_requests", "AccessRequest"), _search_index())


class Migration(migrations.Migration):

    dependencies = [
        ('access_requests', '0016_event_actions_of_tasks_and_experts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='accessrequest',
            name='public_summary',
            field=models.TextField(blank=True, verbose_name='résumé public'),
        ),
        migrations.AddField(
            model_name='accessrequest',
            name='results_url',
            field=models.URLField(blank=True, max_length=500, verbose_name='lien vers les résultats publiés'),
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(condition=models.Q(('to_state__in', ['submitted', 'contracting', 'delivered'])), fields=['request', 'to_state', 'at'], name='event_public_dates_idx'),
        ),
        migrations.RunPython(create_search_index, drop_search_index, elidable=False),
    ]
