app_name = "kalay"

urlpatterns: list = []
