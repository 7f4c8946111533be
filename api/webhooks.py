"""Webhook subscriptions through the API (docs/webhooks.md): a user's own subscriptions and
their deliveries, written through notifications.webhooks.services (the same rules as the admin).

The secret is in the answer of the creation and of a rotation only; it is never read back.
"""

from __future__ import annotations

import hashlib

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import etags
from api.pagination import OldestFirst
from api.views import ERRORS, IF_MATCH, WRITE_ERRORS
from notifications.models import OutboxStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from notifications.webhooks import selectors, services


def subscription_etag(subscription: WebhookSubscription) -> str:
    digest = hashlib.sha256(repr((subscription.pk, subscription.updated_at)).encode()).hexdigest()[:16]
    return f'"w{subscription.pk}-{digest}"'


class SubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "description", "is_active", "disabled_at", "disabled_reason",
                  "consecutive_failures", "created_at", "updated_at"]


class SubscriptionInput(serializers.Serializer):
    url = serializers.CharField(max_length=2000)
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.values), allow_empty=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SubscriptionChange(serializers.Serializer):
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.values), allow_empty=False,
                                   required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "webhook_id", "event_type", "reference", "status", "attempts", "created_at", "sent_at",
                  "next_attempt_at", "last_attempt_at", "response_status", "response_excerpt", "duration_ms",
                  "last_error"]


WITH_SECRET = inline_serializer("SubscriptionWithSecret", {
    "subscription": SubscriptionSerializer(), "secret": serializers.CharField(help_text="whsec_…, shown once")})


def _shown(subscription: WebhookSubscription, *, http_status: int = 200, secret: str | None = None) -> Response:
    data = SubscriptionSerializer(subscription).data
    body = {"subscription": data, "secret": secret} if secret is not None else data
    response = Response(body, status=http_status)
    response["ETag"] = subscription_etag(subscription)
    return response


class SubscriptionList(generics.ListAPIView):
    """Your webhook subscriptions; create one (its secret is in the answer, once)."""

    serializer_class = SubscriptionSerializer
    pagination_class = OldestFirst

    @extend_schema(responses={200: SubscriptionSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.subscriptions_of(self.request.user)

    @extend_schema(request=SubscriptionInput, responses={201: WITH_SECRET, **WRITE_ERRORS})
    def post(self, request: Request) -> Response:
        body = SubscriptionInput(data=request.data)
        body.is_valid(raise_exception=True)
        subscription, secret = services.create_subscription(owner=request.user, actor=request.user,
                                                            **body.validated_data)
        return _shown(subscription, http_status=status.HTTP_201_CREATED, secret=secret)


class SubscriptionDetail(APIView):
    """One of your subscriptions: read, change (``is_active`` false disables it), delete."""

    @extend_schema(responses={200: SubscriptionSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return _shown(selectors.subscription_of(request.user, pk))

    @extend_schema(request=SubscriptionChange, parameters=[IF_MATCH],
                   responses={200: SubscriptionSerializer, **WRITE_ERRORS})
    def patch(self, request: Request, pk: int) -> Response:
        subscription = selectors.subscription_of(request.user, pk)
        etags.require_match(request, subscription_etag(subscription))
        body = SubscriptionChange(data=request.data)
        body.is_valid(raise_exception=True)
        change = dict(body.validated_data)
        active = change.pop("is_active", None)
        if change:
            services.update_subscription(subscription_id=pk, actor=request.user, **change)
        if active is True:
            services.enable_subscription(subscription_id=pk, actor=request.user)
        elif active is False:
            services.disable_subscription(subscription_id=pk, actor=request.user)
        return _shown(selectors.subscription_of(request.user, pk))

    @extend_schema(parameters=[IF_MATCH], responses={204: None, **WRITE_ERRORS})
    def delete(self, request: Request, pk: int) -> Response:
        subscription = selectors.subscription_of(request.user, pk)
        etags.require_match(request, subscription_etag(subscription))
        services.delete_subscription(subscription_id=pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionSecret(APIView):
    """A new secret (the previous one still signs for HDH_WEBHOOK_SECRET_OVERLAP_HOURS)."""

    @extend_schema(request=None, parameters=[IF_MATCH], responses={200: WITH_SECRET, **WRITE_ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        subscription = selectors.subscription_of(request.user, pk)
        etags.require_match(request, subscription_etag(subscription))
        subscription, secret = services.rotate_secret(subscription_id=pk, actor=request.user)
        return _shown(subscription, secret=secret)


class DeliveryList(generics.ListAPIView):
    """The subscription's deliveries, newest first: each attempt's outcome and the receiver's answer."""

    serializer_class = DeliverySerializer

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=OutboxStatus.values)],
                   responses={200: DeliverySerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        subscription = selectors.subscription_of(self.request.user, self.kwargs["pk"])
        wanted = self.request.query_params.get("status")
        if wanted is not None and wanted not in OutboxStatus.values:
            raise ValidationError({"status": ["pending, sent or failed"]})
        return selectors.deliveries_of(self.request.user, subscription_id=subscription.pk, status=wanted)


class Redeliver(APIView):
    """Post a failed delivery again (same ``webhook-id``)."""

    @extend_schema(request=None, responses={
        202: inline_serializer("Redelivered", {"redelivered": serializers.IntegerField()}), **WRITE_ERRORS})
    def post(self, request: Request, pk: int, delivery_id: int) -> Response:
        delivery = selectors.delivery_of(request.user, delivery_id)
        if delivery.subscription_id != pk:
            raise selectors.DeliveryNotFound(_("Envoi webhook introuvable."))
        # 0 when there is nothing to post again (already sent, or being posted now).
        count = services.redeliver(delivery_ids=[delivery.pk], actor=request.user)
        return Response({"redelivered": count}, status=status.HTTP_202_ACCEPTED)
