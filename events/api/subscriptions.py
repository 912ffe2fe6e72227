"""/v2/api/subscriptions: a tenant's webhook subscriptions, each one's delivery log, and a test delivery. The engine
that sends them is events.notify.webhooks; the admin validates a subscription with the serializer here."""

from django.conf import settings
from django.db.models.functions import Lower
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from cameras.aim import MAX_NAME_LENGTH
from cameras.rtsp import HostNotAllowed, HostUnresolvable, allowed_addresses, split_url
from tenants.api.openapi import error, errors
from tenants.api.viewsets import (
    AuditedWrites,
    LimitedPerTenant,
    NewestFirstList,
    NewestFirstQuerySerializer,
    TenantModelViewSet,
    keyset_page,
)
from tenants.catalogue import SUBSCRIPTIONS_WRITE

from ..catalogue import EVENT_CATEGORIES
from ..models import Delivery, Severity, Subscription
from ..notify.webhooks import send_test

MAX_SUBSCRIPTIONS = 50  # per tenant: each one is a POST per matching event
MAX_LIST = 100  # camera ids, zones, types
URL_MAX_LENGTH = Subscription._meta.get_field("url").max_length
TEST_RATE = "10/min"  # test deliveries a tenant may ask for


def validate_webhook_url(url: str) -> str:
    """Return `url` when webhooks may be sent to it; raise ValueError with what is wrong (to follow "URL ").

    The host is checked again before every attempt (events.notify.egress), as a name may resolve elsewhere later.
    """
    parts = split_url(url, ("https", "http") if settings.VMS_WEBHOOK_ALLOW_HTTP else ("https",))
    if "@" in parts.netloc:  # a secret in the URL would show wherever the URL does; the body is signed instead
        raise ValueError("must not hold a user name or password")
    try:
        allowed_addresses(parts.hostname, settings.VMS_WEBHOOK_DENY_NETS)
    except HostUnresolvable as exc:
        raise ValueError("must name a host that resolves") from exc
    except HostNotAllowed as exc:
        raise ValueError("must name a host webhooks may be sent to") from exc
    return url


def folded(values: list[str], key=str) -> list[str]:
    """`values` without repeats (by `key`), the first of each kept, in order."""
    first = {}
    for value in values:
        first.setdefault(key(value), value)
    return list(first.values())


class TestDeliveryThrottle(SimpleRateThrottle):
    """Test deliveries per tenant, whichever of its subscriptions: each one is a POST to wherever the URL names."""

    scope = "webhook-test"
    rate = TEST_RATE

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.tenant_id}


class SubscriptionSerializer(LimitedPerTenant):
    """A subscription as the API returns it (never with its secret) and takes it. An empty list means any; a
    subscription disabled for failing deliveries is re-enabled by setting `enabled` to true."""

    most_per_tenant = MAX_SUBSCRIPTIONS
    url = serializers.CharField(
        max_length=URL_MAX_LENGTH,
        help_text="https:// (http:// where the deployment allows it); no user:password; not a denied host",
    )
    types = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_CATEGORIES)),
        required=False,
        max_length=MAX_LIST,
        help_text="Event types to send; any when empty. Repeats are dropped",
    )
    camera_ids = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=MAX_LIST,
        help_text="The tenant's cameras (matched ignoring case, stored as the camera's id); any when empty",
    )
    zones = serializers.ListField(
        child=serializers.CharField(max_length=MAX_NAME_LENGTH),
        required=False,
        max_length=MAX_LIST,
        help_text="Zone names: only events whose object entered one of them; any when empty",
    )
    severity = serializers.ChoiceField(
        choices=Severity.values,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="alert or detection only; null or empty for both",
    )

    class Meta:
        model = Subscription
        fields = [
            "id", "url", "types", "camera_ids", "zones", "severity", "enabled",
            "disabled_reason", "failing_since", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["disabled_reason", "failing_since", "created_at", "updated_at"]

    def validate_url(self, value: str) -> str:
        try:
            return validate_webhook_url(value)
        except ValueError as exc:
            raise serializers.ValidationError(f"URL {exc}.") from exc

    def validate_types(self, value: list[str]) -> list[str]:
        return folded(value)

    def validate_zones(self, value: list[str]) -> list[str]:
        return folded(value)

    def validate_camera_ids(self, value: list[str]) -> list[str]:
        wanted = folded(value, key=str.lower)
        cameras = self.context["tenant"].cameras.annotate(key=Lower("slug"))  # as the id's unique constraint
        found = dict(cameras.filter(key__in=[v.lower() for v in wanted]).values_list("key", "slug"))
        unknown = [f"No camera '{v}' in this tenant." for v in wanted if v.lower() not in found]
        if unknown:
            raise serializers.ValidationError(unknown)
        return [found[v.lower()] for v in wanted]

    def validate_severity(self, value: str | None) -> str:
        return value or ""

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if self.instance is not None and attrs.get("enabled") and not self.instance.enabled:
            attrs.update(disabled_reason="", failing_since=None)  # re-enabled: the failures so far are forgiven
        return attrs

    def update(self, instance: Subscription, validated_data: dict) -> Subscription:
        # Only the fields sent, so a delivery outcome the engine records meanwhile (failing_since) is kept.
        for field, value in validated_data.items():
            setattr(instance, field, value)
        instance.save(update_fields=[*validated_data, "updated_at"])
        return instance

    def to_representation(self, instance: Subscription) -> dict:
        data = super().to_representation(instance)
        data["severity"] = instance.severity or None
        return data


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    """The create response: the subscription and, this once only, its signing secret."""

    secret = serializers.CharField(help_text="Signs every delivery (X-VMS-Signature); shown only in this response")

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class DeliveryQuerySerializer(serializers.Serializer):
    """GET /v2/api/subscriptions/{id}/deliveries parameters: newest first, `before` walks back page by page."""

    state = serializers.ChoiceField(choices=Delivery.State.values, required=False)
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=100)
    before = serializers.UUIDField(required=False, help_text="The last delivery id of the page before")


class DeliverySerializer(serializers.ModelSerializer):
    """One event sent (and retried) to the subscription's URL; `id` is the X-VMS-Delivery-Id header it carries."""

    class Meta:
        model = Delivery
        fields = [
            "id", "event_id", "state", "attempts", "response_code", "latency_ms", "last_error",
            "created_at", "last_attempt_at", "next_attempt_at",
        ]  # fmt: skip
        read_only_fields = fields


LINK = OpenApiParameter(
    "Link", str, OpenApiParameter.HEADER, response=[200], description='<next page>; rel="next" (full pages)'
)


@extend_schema_view(
    list=extend_schema(
        parameters=[NewestFirstQuerySerializer, LINK],
        responses={200: SubscriptionSerializer(many=True), **errors(400)},
    ),
    create=extend_schema(responses={201: SubscriptionCreatedSerializer, **errors(400)}),
    retrieve=extend_schema(responses={200: SubscriptionSerializer, **errors(404)}),
    partial_update=extend_schema(responses={200: SubscriptionSerializer, **errors(400, 404)}),
    destroy=extend_schema(responses={204: None, **errors(404)}),
    deliveries=extend_schema(
        parameters=[DeliveryQuerySerializer, LINK], responses={200: DeliverySerializer(many=True), **errors(400, 404)}
    ),
    test=extend_schema(
        request=None,
        responses={202: DeliverySerializer, **errors(404), 429: error(f"Over {TEST_RATE} test deliveries a tenant.")},
    ),
)
class SubscriptionViewSet(AuditedWrites, NewestFirstList, TenantModelViewSet):
    """The tenant's webhook subscriptions. Every method needs subscriptions:write: a subscription names the
    tenant's own systems."""

    queryset = Subscription.objects.all()
    serializer_class = SubscriptionSerializer
    required_scope = SUBSCRIPTIONS_WRITE
    audit_object_type = "subscription"

    def create(self, request):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.perform_create(body)
        return Response(SubscriptionCreatedSerializer(body.instance).data, status=status.HTTP_201_CREATED)

    @action(detail=True)
    def deliveries(self, request, pk: str):
        """The subscription's delivery log, newest first (keyset-paged by `before`)."""
        query = DeliveryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        log = Delivery.objects.for_principal(request.user).filter(subscription=self.get_object())
        deliveries = log.order_by("-created_at", "-id")
        if "state" in params:
            deliveries = deliveries.filter(state=params["state"])
        if "before" in params:
            cursor = log.filter(pk=params["before"]).values_list("created_at", "id").first()
            if cursor is None:
                raise ValidationError({"before": [f"No delivery '{params['before']}' of this subscription."]})
            # (created_at, id) < cursor, written so the (subscription, -created_at) index bounds the scan.
            deliveries = deliveries.filter(created_at__lte=cursor[0]).exclude(created_at=cursor[0], id__gte=cursor[1])
        page = DeliverySerializer(deliveries[: params["limit"]], many=True).data
        return keyset_page(request, page, params["limit"])

    @action(detail=True, methods=["post"], throttle_classes=[TestDeliveryThrottle])
    def test(self, request, pk: str):
        """Send a test event to the subscription's URL now (whether or not it is enabled, to try a receiver before
        enabling it; checked as every attempt is); the answer is the delivery, pending until the receiver has
        answered. At most TEST_RATE a tenant (429 with Retry-After)."""
        delivery = send_test(self.get_object())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
