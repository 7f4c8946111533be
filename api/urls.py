from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import views, webhooks

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("problems/<slug:code>", views.ProblemType.as_view(), name="problem"),
    path("v1/requests/", views.RequestList.as_view(), name="request-list"),
    path("v1/requests/<str:reference>/", views.RequestDetail.as_view(), name="request-detail"),
    path("v1/requests/<str:reference>/transitions/", views.RequestTransitions.as_view(), name="request-transitions"),
    path("v1/requests/<str:reference>/events/", views.RequestEvents.as_view(), name="request-events"),
    path("v1/requests/<str:reference>/messages/", views.RequestMessages.as_view(), name="request-messages"),
    path("v1/requests/<str:reference>/attachments/", views.RequestAttachments.as_view(),
         name="request-attachments"),
    path("v1/attachments/<int:pk>/", views.AttachmentDetail.as_view(), name="attachment-detail"),
    path("v1/attachments/<int:pk>/content/", views.AttachmentContent.as_view(), name="attachment-content"),
    path("v1/tasks/", views.TaskList.as_view(), name="task-list"),
    path("v1/tasks/<int:pk>/", views.TaskDetail.as_view(), name="task-detail"),
    path("v1/tasks/<int:pk>/transitions/", views.TaskTransitions.as_view(), name="task-transitions"),
    path("v1/catalogue/datasets/", views.DatasetList.as_view(), name="dataset-list"),
    path("v1/catalogue/holders/", views.HolderList.as_view(), name="holder-list"),
    path("v1/delays/", views.DelayFigures.as_view(), name="delays"),
    path("v1/webhooks/", webhooks.SubscriptionList.as_view(), name="webhook-list"),
    path("v1/webhooks/<int:pk>/", webhooks.SubscriptionDetail.as_view(), name="webhook-detail"),
    path("v1/webhooks/<int:pk>/secret/", webhooks.SubscriptionSecret.as_view(), name="webhook-secret"),
    path("v1/webhooks/<int:pk>/deliveries/", webhooks.DeliveryList.as_view(), name="webhook-deliveries"),
    path("v1/webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver/", webhooks.Redeliver.as_view(),
         name="webhook-redeliver"),
]
