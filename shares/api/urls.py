"""/v2/api/shares: share links (their pages and media are under /v2/s/, see shares.urls)."""

from rest_framework.routers import SimpleRouter

from .views import ShareViewSet

app_name = "shares-api"

router = SimpleRouter(trailing_slash=False)
router.register("shares", ShareViewSet, basename="share")
urlpatterns = router.urls
