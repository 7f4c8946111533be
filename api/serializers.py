"""What the API shows of each resource (read), and the bodies it takes (write)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from rest_framework import serializers

from access_requests.models import AccessRequest, Attachment, Event, HolderTask, Message
from access_requests.workflow import TASK_ACTIONS
from api.transitions import REQUEST_TRANSITIONS
from catalog.models import DataHolder, Dataset


class HolderSerializer(serializers.ModelSerializer):
    class Meta:
        model = DataHolder
        fields = ["code", "name", "median_delivery_days"]


class DatasetSerializer(serializers.ModelSerializer):
    holder: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Dataset
        fields = ["code", "name", "holder", "description", "in_snds_main_base"]


class RequestSerializer(serializers.ModelSerializer):
    """A request in a list."""

    organisation = serializers.SerializerMethodField()
    datasets = serializers.SerializerMethodField()
    submitted_at = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = AccessRequest
        fields = ["reference", "title", "state", "route", "requires_matching", "organisation", "datasets",
                  "created_at", "updated_at", "submitted_at", "url"]

    def get_organisation(self, obj: AccessRequest) -> str | None:
        return obj.organisation.name if obj.organisation is not None else None

    def get_datasets(self, obj: AccessRequest) -> list[str]:
        return [d.code for d in obj.datasets.all()]

    def get_submitted_at(self, obj: AccessRequest) -> str | None:
        try:
            delay = obj.delay
        except ObjectDoesNotExist:
            return None
        return delay.submitted_at.isoformat() if delay and delay.submitted_at else None

    def get_url(self, obj: AccessRequest) -> str:
        return reverse("api:request-detail", args=[obj.reference])


class TaskSerializer(serializers.ModelSerializer):
    request: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    holder: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    transitions = serializers.SerializerMethodField()

    class Meta:
        model = HolderTask
        fields = ["id", "request", "holder", "state", "requires_matching", "entered_at", "due_date", "delivered_at",
                  "created_at", "transitions"]

    def get_transitions(self, obj: HolderTask) -> list[str]:
        return self.context.get("task_transitions", {}).get(obj.pk, [])


class RequestDetailSerializer(RequestSerializer):
    holder_tasks = TaskSerializer(many=True, read_only=True)
    clock = serializers.SerializerMethodField()
    transitions = serializers.SerializerMethodField()

    class Meta(RequestSerializer.Meta):
        fields = [*RequestSerializer.Meta.fields, "summary", "public_interest", "methodology", "expected_start",
                  "brings_own_data", "paused_from", "cesrees_opinion", "cesrees_extended", "cnil_extended",
                  "cnil_decision_number", "cnil_decision_date", "holder_tasks", "clock", "transitions"]

    def get_clock(self, obj: AccessRequest) -> dict[str, Any] | None:
        return self.context.get("clock")

    def get_transitions(self, obj: AccessRequest) -> list[str]:
        return self.context.get("transitions", [])


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "at", "from_state", "to_state", "action", "role", "comment", "payload"]


class AttachmentSerializer(serializers.ModelSerializer):
    request: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "request", "message", "kind", "original_name", "content_type", "size", "uploaded_at",
                  "scan_status", "download_url"]

    def get_download_url(self, obj: Attachment) -> str:
        return reverse("api:attachment-content", args=[obj.pk])


class MessageSerializer(serializers.ModelSerializer):
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = ["id", "created_at", "role", "kind", "internal", "body", "attachments"]


class MessageInput(serializers.Serializer):
    body = serializers.CharField(max_length=20_000, trim_whitespace=False)
    internal = serializers.BooleanField(default=False)


class TransitionInput(serializers.Serializer):
    """A workflow action and its fields; which fields each action needs is the pages' rule
    (docs/api.md lists them); an unknown or missing one answers 400 ``invalid_input``."""

    name = serializers.ChoiceField(choices=list(REQUEST_TRANSITIONS))
    comment = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    reason = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    question = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    answer = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    urgent = serializers.BooleanField(required=False)
    certify = serializers.BooleanField(required=False)
    opinion = serializers.CharField(required=False, allow_blank=True)
    decision = serializers.ChoiceField(choices=["authorised", "refused"], required=False)
    decision_number = serializers.CharField(required=False, allow_blank=True)
    decision_date = serializers.DateField(required=False)


class TaskTransitionInput(serializers.Serializer):
    name = serializers.ChoiceField(choices=list(TASK_ACTIONS))
    comment = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)

