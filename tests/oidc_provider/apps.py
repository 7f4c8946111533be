from django.apps import AppConfig


class TestProviderConfig(AppConfig):
    name = "tests.oidc_provider"
    label = "test_provider"  # "oidc_provider" is django-oidc-provider's own label
    default_auto_field = "django.db.models.BigAutoField"
