"""Add the ATIH's hospital discharge database (PMSI) to the catalogue: requests that link the
SNDS (CNAM), the PMSI (ATIH) and a hospital's base have three data holders. Idempotent."""

from django.db import migrations

DATASETS = [
    ("pmsi", "PMSI — séjours hospitaliers", "atih", False,
     "Programme de médicalisation des systèmes d'information : séjours en médecine, chirurgie, "
     "obstétrique, soins de suite, psychiatrie et hospitalisation à domicile."),
]


def load(apps, schema_editor):
    DataHolder = apps.get_model("catalog", "DataHolder")
    Dataset = apps.get_model("catalog", "Dataset")
    for code, name, holder, main_base, description in DATASETS:
        Dataset.objects.update_or_create(code=code, defaults={
            "name": name, "holder": DataHolder.objects.get(code=holder), "in_snds_main_base": main_base,
            "description": description})


def unload(apps, schema_editor):
    Dataset = apps.get_model("catalog", "Dataset")
    Dataset.objects.filter(code__in=[d[0] for d in DATASETS], access_requests__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_dataholder_median_delivery_days")]
    operations = [migrations.RunPython(load, unload)]
