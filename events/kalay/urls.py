from django.urls import re_path

from .views import graphql_endpoint

app_name = "kalay"

# The seed uses both `/be?query=...` (GET) and `/be/` (POST); APPEND_SLASH is off, so both are routed.
urlpatterns = [re_path(r"^be/?$", graphql_endpoint, name="graphql")]
