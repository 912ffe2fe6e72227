"""The worker nodes, for platform staff only (a token from `manage.py issue_token --platform`)."""

from datetime import UTC, datetime

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.api.openapi import error
from tenants.catalogue import PLATFORM_READ

from ..pipeline.supervisor import nodes_overview


class NodeKindSerializer(serializers.Serializer):
    capacity = serializers.FloatField(help_text="record: streams; detect: frames per second (measured at start-up)")
    slots = serializers.IntegerField(help_text="pipelines the node's worker runs at once")
    load = serializers.FloatField(help_text="what its pipelines take of the capacity (queued starts included)")
    cameras = serializers.ListField(child=serializers.CharField(), help_text="tenant/camera, running or queued")
    since = serializers.DateTimeField(help_text="when the node's worker started")


class NodeSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="VMS_NODE_NAME")
    heartbeat = serializers.DateTimeField(help_text="its last announcement (every second; gone after the lease time)")
    kinds = serializers.DictField(child=NodeKindSerializer(), help_text="By pipeline kind it serves: record, detect")


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def nodes_shown() -> list[dict]:
    """The nodes alive as the API, the admin and `manage.py nodes` show them (times as datetimes)."""
    return [
        {
            **node,
            "heartbeat": _at(node["heartbeat"]),
            "kinds": {kind: {**taken, "since": _at(taken["since"])} for kind, taken in node["kinds"].items()},
        }
        for node in nodes_overview()
    ]


class NodeListView(APIView):
    """Every worker node alive: its capacity, load and cameras per kind, and its last heartbeat."""

    required_scope = PLATFORM_READ

    @extend_schema(
        responses={200: NodeSerializer(many=True), 403: error("Not a platform token (platform:read).")},
        operation_id="nodes_list",
    )
    def get(self, request: Request) -> Response:
        return Response(NodeSerializer(nodes_shown(), many=True).data)
