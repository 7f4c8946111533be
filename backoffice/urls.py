"""The back office of the reviewers (/backoffice/) and the delay dashboard."""

from django.urls import path

from backoffice import views

app_name = "backoffice"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("export.csv", views.export, {"fmt": "csv"}, name="export"),
    path("export.xlsx", views.export, {"fmt": "xlsx"}, name="export_xlsx"),
    path("filters/", views.saved_filters, name="saved_filters"),
    path("filters/save/", views.save_filter, name="save_filter"),
    path("filters/<int:filter_id>/", views.open_filter, name="open_filter"),
    path("filters/<int:filter_id>/rename/", views.rename_filter, name="rename_filter"),
    path("filters/<int:filter_id>/delete/", views.delete_filter, name="delete_filter"),
    path("requests/<reference:reference>/", views.detail, name="detail"),
    path("requests/<reference:reference>/act/<slug:action>/", views.act, name="act"),
    path("requests/<reference:reference>/messages/", views.post_message, name="post_message"),
    path("requests/<reference:reference>/experts/", views.invite_expert, name="invite_expert"),
    path("requests/<reference:reference>/experts/<int:invitation_id>/revoke/", views.revoke_expert,
         name="revoke_expert"),
    path("requests/<reference:reference>/assign/", views.assign, name="assign"),
    path("requests/<reference:reference>/follow/", views.follow, {"following": True}, name="follow"),
    path("requests/<reference:reference>/unfollow/", views.follow, {"following": False}, name="unfollow"),
    path("requests/<reference:reference>/tasks/<int:task_id>/act/<slug:action>/", views.act_on_task,
         name="task_act"),
    path("requests/<reference:reference>/tasks/<int:task_id>/due-date/", views.set_task_due_date,
         name="task_due_date"),
    path("requests/<reference:reference>/tasks/<int:task_id>/assign/", views.assign_task, name="task_assign"),
    path("requests/<reference:reference>/accuse-de-reception.pdf", views.receipt, name="receipt"),
    path("requests/<reference:reference>/dossier.pdf", views.dossier_pdf, name="dossier_pdf"),
    path("requests/<reference:reference>/dossier.zip", views.dossier_zip, name="dossier_zip"),
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("delays/", views.delays, name="delays"),
    path("delays.csv", views.delays_table, {"fmt": "csv"}, name="delays_csv"),
    path("delays.xlsx", views.delays_table, {"fmt": "xlsx"}, name="delays_xlsx"),
    path("delays.json", views.delays_json, name="delays_json"),
    path("organisations/", views.organisations, name="organisations"),
    path("organisations/merge/", views.merge_organisations, name="merge_organisations"),
    path("organisations/requests/<int:membership_id>/approve/", views.decide_membership, {"decision": "approve"},
         name="approve_membership"),
    path("organisations/requests/<int:membership_id>/refuse/", views.decide_membership, {"decision": "refuse"},
         name="refuse_membership"),
]
