from django.urls import path
from rest_framework.routers import SimpleRouter

from .nodes import NodeListView
from .views import CameraViewSet

app_name = "cameras"

router = SimpleRouter(trailing_slash=False)
router.register("cameras", CameraViewSet, basename="camera")
urlpatterns = [*router.urls, path("nodes", NodeListView.as_view(), name="nodes")]
