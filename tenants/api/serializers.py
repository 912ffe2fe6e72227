from django.contrib.auth import authenticate
from rest_framework import exceptions, serializers

from .. import audit
from ..models import Membership
from ..tokens import UserRefreshToken, access_token_from_refresh, refresh_token_for


def _audit_login(request, username: str, membership: Membership | None) -> None:
    """auth.login, or auth.login_failed in the tenant of the account the name is of (a name no one has is in no
    tenant's trail)."""
    if membership is None:
        membership = Membership.objects.filter(user__username=username).first()
        action, outcome = "auth.login_failed", "denied"
    else:
        action, outcome = "auth.login", "ok"
    if membership is not None:
        audit.record(
            membership.tenant_id, action, actor=f"user:{username}", address=audit.address_of(request),
            object_type="user", object_id=str(membership.user_id), outcome=outcome,
        )  # fmt: skip


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})

    def validate(self, attrs):
        request = self.context["request"]
        user = authenticate(request, username=attrs["username"], password=attrs["password"])
        membership = getattr(user, "membership", None)
        _audit_login(request, attrs["username"], membership)
        # One answer for every reason (unknown user, wrong password, inactive, in no tenant): none tells a guesser
        # that a username exists or that its password is right.
        if membership is None:
            raise exceptions.AuthenticationFailed("Wrong username or password.")
        refresh = refresh_token_for(membership)
        return {
            "access": str(refresh.access_token),
            "refresh": str(refresh),
            "tenant_id": membership.tenant_id,
            "scope": refresh["scope"],
        }


class TokenRefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(write_only=True)
    access = serializers.CharField(read_only=True)

    def validate(self, attrs):
        # An invalid or expired refresh token raises TokenError, which the view turns into a 401.
        return {"access": str(access_token_from_refresh(UserRefreshToken(attrs["refresh"])))}
