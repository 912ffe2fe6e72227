from rest_framework.routers import SimpleRouter

from .views import WatchListViewSet

app_name = "watchlists"

router = SimpleRouter(trailing_slash=False)
router.register("watchlists", WatchListViewSet, basename="watchlist")
urlpatterns = router.urls
