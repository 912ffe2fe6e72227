from django.urls import path

from .audit import AuditViewSet
from .usage import UsageView
from .views import TokenObtainView, TokenRefresh

app_name = "tenants"

urlpatterns = [
    path("auth/token", TokenObtainView.as_view(), name="token"),
    path("auth/refresh", TokenRefresh.as_view(), name="refresh"),
    path("usage", UsageView.as_view(), name="usage"),
    path("audit", AuditViewSet.as_view({"get": "list"}), name="audit"),
    path("audit/chain", AuditViewSet.as_view({"get": "chain"}), name="audit-chain"),
]
