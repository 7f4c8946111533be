"""Load the national catalogue (DOMAIN.md). Idempotent: existing codes are updated."""

from django.db import migrations

HOLDERS = [
    ("cnam", "Caisse nationale de l'Assurance maladie (CNAM)"),
    ("spf", "Santé publique France"),
    ("atih", "Agence technique de l'information sur l'hospitalisation (ATIH)"),
    ("cepidc", "CépiDc-Inserm"),
    ("clb", "Centre Léon Bérard"),
    ("chu-toulouse", "CHU de Toulouse"),
    ("unicancer", "Unicancer"),
    ("ico", "Institut de cancérologie de l'Ouest"),
    ("curie", "Institut Curie"),
    ("chu-bordeaux", "CHU de Bordeaux"),
]

DATASETS = [
    ("snds", "SNDS base principale", "cnam", True,
     "Système national des données de santé : consommation de soins (DCIR), séjours hospitaliers "
     "(PMSI), causes de décès, données du handicap, vaccination et tests COVID."),
    ("esnd", "Échantillon du SNDS (ESND, ex-EGB)", "cnam", False,
     "Échantillon représentatif au 1/97e des bénéficiaires de l'Assurance maladie."),
    ("oscour", "OSCOUR — passages aux urgences", "spf", False,
     "Organisation de la surveillance coordonnée des urgences."),
    ("deepsarc", "DeepSarc", "clb", False, "Base de données des sarcomes."),
    ("apriorics", "APRIORICS", "chu-toulouse", False, "Imagerie et données cliniques en cancérologie."),
    ("precision_predict", "PRECISION PREDICT", "unicancer", False,
     "Données des centres de lutte contre le cancer Unicancer."),
    ("isis", "ISIS", "ico", False, "Base de l'Institut de cancérologie de l'Ouest."),
    ("realigist", "REALIGIST", "curie", False, "Tumeurs stromales gastro-intestinales (Institut Curie)."),
    ("uroccr", "UroCCR", "chu-bordeaux", False, "Cancers du rein (réseau UroCCR)."),
]


def load(apps, schema_editor):
    DataHolder = apps.get_model("catalog", "DataHolder")
    Dataset = apps.get_model("catalog", "Dataset")
    holders = {}
    for code, name in HOLDERS:
        holders[code], _ = DataHolder.objects.update_or_create(code=code, defaults={"name": name})
    for code, name, holder, main_base, description in DATASETS:
        Dataset.objects.update_or_create(
            code=code,
            defaults={"name": name, "holder": holders[holder], "in_snds_main_base": main_base,
                      "description": description},
        )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
