"""An external expert's read-only view of one dossier (/expert/...): backoffice/expert.py."""

from django.urls import path

from backoffice import expert

app_name = "expert"
urlpatterns = [
    path("dossiers/<int:invitation_id>/", expert.dossier, name="dossier"),
    path("dossiers/<int:invitation_id>/pieces/<int:attachment_id>/", expert.download, name="download"),
    path("<str:token>/", expert.open_link, name="open"),
]
