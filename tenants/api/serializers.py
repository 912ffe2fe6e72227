from django.contrib.auth import authenticate
from rest_framework import exceptions, serializers

from ..tokens import refresh_token_for


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})

    def validate(self, attrs):
        user = authenticate(self.context["request"], username=attrs["username"], password=attrs["password"])
        if user is None:
            raise exceptions.AuthenticationFailed("Wrong username or password.")
        membership = getattr(user, "membership", None)
        if membership is None:
            raise exceptions.AuthenticationFailed("This user belongs to no tenant.")
        refresh = refresh_token_for(membership)
        return {
            "access": str(refresh.access_token),
            "refresh": str(refresh),
            "tenant_id": membership.tenant_id,
            "scope": refresh["scope"],
        }
