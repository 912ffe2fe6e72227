"""/v2/api/exports: export jobs (their files are downloaded under /v2/exports/, see playback.export_urls)."""

from rest_framework.routers import SimpleRouter

from .views import ExportViewSet

app_name = "exports"

router = SimpleRouter(trailing_slash=False)
router.register("exports", ExportViewSet, basename="export")
urlpatterns = router.urls
