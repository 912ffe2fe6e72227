from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenRefreshView

from .serializers import TokenObtainSerializer


class TokenObtainView(APIView):
    """Exchange a username and password for an access and a refresh JWT."""

    authentication_classes: list = []
    permission_classes: list = []

    def get_authenticate_header(self, request) -> str:
        # Makes a failed login a 401 (DRF answers 403 where no authenticator names a scheme).
        return 'Bearer realm="api"'

    @extend_schema(
        request=TokenObtainSerializer,
        responses=inline_serializer(
            "TokenPair",
            {
                "access": serializers.CharField(),
                "refresh": serializers.CharField(),
                "tenant_id": serializers.CharField(),
                "scope": serializers.CharField(),
            },
        ),
    )
    def post(self, request):
        serializer = TokenObtainSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data)


class TokenRefresh(TokenRefreshView):
    """Exchange a refresh JWT for a new access JWT with the same tenant and scopes."""

    authentication_classes: list = []
    permission_classes: list = []
