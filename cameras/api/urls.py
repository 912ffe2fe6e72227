from rest_framework.routers import SimpleRouter

from .views import CameraViewSet

app_name = "cameras"

router = SimpleRouter(trailing_slash=False)
router.register("cameras", CameraViewSet, basename="camera")
urlpatterns = router.urls
