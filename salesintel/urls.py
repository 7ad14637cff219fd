from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("alerts/", include("alerts.urls")),
    path("", include("web.urls")),
]
