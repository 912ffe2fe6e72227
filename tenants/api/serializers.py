from django.contrib.auth import authenticate
from rest_framework import exceptions, serializers

from ..tokens import UserRefreshToken, access_token_from_refresh, refresh_token_for


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})

    def validate(self, attrs):
        user = authenticate(self.context["request"], username=attrs["username"], password=attrs["password"])
        membership = getattr(user, "membership", None)
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
