"""The applicant portal: /portal/..."""

from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.request_create, name="create"),
    path("requests/<str:reference>/", views.request_detail, name="detail"),
    path("requests/<str:reference>/edit/", views.request_edit, name="edit"),
    path("requests/<str:reference>/attachments/", views.upload, name="upload"),
    path("requests/<str:reference>/submit/", views.submit, name="submit"),
    path("requests/<str:reference>/answer/", views.answer, name="answer"),
    path("requests/<str:reference>/withdraw/", views.withdraw, name="withdraw"),
    path("attachments/<int:attachment_id>/", views.download, name="download"),
    path("attachments/<int:attachment_id>/remove/", views.remove_attachment, name="remove_attachment"),
]
