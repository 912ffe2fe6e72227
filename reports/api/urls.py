from django.urls import path

from .views import ActivityView

app_name = "reports"

urlpatterns = [
    path("reports/activity", ActivityView.as_view(), name="activity"),
]
