from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenRefreshView

from ..throttles import LOGIN_THROTTLES
from ..tokens import refresh_token_user
from .openapi import error, errors
from .serializers import TokenObtainSerializer, TokenRefreshSerializer

THROTTLED = {429: error("Too many attempts for this user or from this address.")}
RETRY_AFTER = OpenApiParameter(
    "Retry-After", int, OpenApiParameter.HEADER, response=[429], description="Seconds to wait before the next try"
)


class TokenObtainView(APIView):
    """Exchange a username and password for an access and a refresh JWT."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = LOGIN_THROTTLES

    def get_authenticate_header(self, request) -> str:
        # Makes a failed login a 401 (DRF answers 403 where no authenticator names a scheme).
        return 'Bearer realm="api"'

    @extend_schema(
        request=TokenObtainSerializer,
        parameters=[RETRY_AFTER],
        responses={
            200: inline_serializer(
                "TokenPair",
                {
                    "access": serializers.CharField(),
                    "refresh": serializers.CharField(),
                    "tenant_id": serializers.CharField(),
                    "scope": serializers.CharField(),
                },
            ),
            **errors(400),
            401: error("Wrong username or password: one answer for every reason."),
            **THROTTLED,
        },
    )
    def post(self, request):
        serializer = TokenObtainSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data)


@extend_schema_view(
    post=extend_schema(
        parameters=[RETRY_AFTER],
        responses={
            200: TokenRefreshSerializer,
            **errors(400),
            401: error("Invalid or expired token, or its user is inactive, in no tenant or has changed password."),
            **THROTTLED,
        },
    )
)
class TokenRefresh(TokenRefreshView):
    """Exchange a refresh JWT for a new access JWT with the tenant and scopes of the user's membership now."""

    authentication_classes: list = []
    permission_classes: list = []
    serializer_class = TokenRefreshSerializer
    throttle_classes = LOGIN_THROTTLES

    def throttle_user(self, request) -> str | None:
        data = request.data
        return refresh_token_user(data.get("refresh") if hasattr(data, "get") else None)
