"""The applicant portal: /portal/..."""

from django.urls import path

from portal import autosave, views

app_name = "portal"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.request_create, name="create"),
    path("new/autosave/", autosave.autosave_new, name="autosave_new"),
    path("requests/<reference:reference>/", views.request_detail, name="detail"),
    path("requests/<reference:reference>/edit/", views.request_edit, name="edit"),
    path("requests/<reference:reference>/autosave/", autosave.autosave_draft, name="autosave"),
    path("requests/<reference:reference>/attachments/", views.upload, name="upload"),
    path("requests/<reference:reference>/submit/", views.submit, name="submit"),
    path("requests/<reference:reference>/answer/", views.answer, name="answer"),
    path("requests/<reference:reference>/messages/", views.post_message, name="post_message"),
    path("requests/<reference:reference>/public-summary/", views.public_summary, name="public_summary"),
    path("requests/<reference:reference>/results/", views.results_url, name="results_url"),
    path("requests/<reference:reference>/withdraw/", views.withdraw, name="withdraw"),
    path("requests/<reference:reference>/accuse-de-reception.pdf", views.receipt, name="receipt"),
    path("requests/<reference:reference>/dossier.pdf", views.dossier_pdf, name="dossier_pdf"),
    path("requests/<reference:reference>/dossier.zip", views.dossier_zip, name="dossier_zip"),
    path("attachments/<int:attachment_id>/", views.download, name="download"),
    path("attachments/<int:attachment_id>/remove/", views.remove_attachment, name="remove_attachment"),
]
