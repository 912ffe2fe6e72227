from django.urls import path

from .views import TokenObtainView, TokenRefresh

app_name = "auth"

urlpatterns = [
    path("token", TokenObtainView.as_view(), name="token"),
    path("refresh", TokenRefresh.as_view(), name="refresh"),
]
