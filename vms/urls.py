from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView, TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tenants import health

urlpatterns = [
    path("admin/", admin.site.urls),
    # The operator SPA: one shell page; its screens are hash routes (#/cameras), so no /v2/... path is taken.
    path("v2", RedirectView.as_view(url="/v2/", permanent=False)),
    path("v2/", TemplateView.as_view(template_name="spa/index.html"), name="spa"),
    path("v2/health", health.health, name="health"),
    path("v2/health/ready", health.ready, name="health-ready"),
    path("v2/metrics", health.metrics, name="metrics"),
    path("v2/api/", include("tenants.api.urls")),
    path("v2/api/", include("cameras.api.urls")),
    path("v2/api/", include("events.api.urls")),
    path("v2/api/", include("live.urls")),
    path("v2/api/playback/", include("playback.api.urls")),
    path("v2/api/", include("playback.api.export_urls")),
    path("v2/api/", include("shares.api.urls")),
    path("v2/api/", include("watchlists.api.urls")),
    path("v2/api/", include("reports.api.urls")),
    path("v2/hls/", include("playback.urls")),
    path("v2/exports/", include("playback.export_urls")),
    path("v2/s/", include("shares.urls")),
    path("vsaas/api/v1/", include("events.kalay.urls")),
    path("v2/api/schema", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path(
        "v2/api/docs",
        SpectacularSwaggerView.as_view(url_name="schema", authentication_classes=[], permission_classes=[]),
        name="api-docs",
    ),
]
