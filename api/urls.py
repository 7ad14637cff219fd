"""/api/: the versioned REST API, its OpenAPI schema and browsable docs."""

from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from api.exceptions import api_not_found
from api.views import alerts, deals, imports, insights, keys, scores

app_name = "api"

v1: list[URLPattern | URLResolver] = [
    path("deals", deals.DealListView.as_view(), name="deals"),
    path("deals/bulk", deals.DealBulkUpsertView.as_view(), name="deals-bulk"),
    path("deals/<int:pk>", deals.DealDetailView.as_view(), name="deal-detail"),
    path("deals/<int:pk>/score", scores.DealScoreView.as_view(), name="deal-score"),
    path("deals/<int:pk>/scores", scores.DealScoreHistoryView.as_view(), name="deal-scores"),
    path("models", scores.ModelListView.as_view(), name="models"),
    path("imports", imports.ImportListView.as_view(), name="imports"),
    path("imports/<int:pk>", imports.ImportDetailView.as_view(), name="import-detail"),
    path("alerts", alerts.AlertListView.as_view(), name="alerts"),
    path("alerts/<int:pk>", alerts.AlertDetailView.as_view(), name="alert-detail"),
    path("alerts/<int:pk>/acknowledge", alerts.AlertAcknowledgeView.as_view(), name="alert-acknowledge"),
    path("alerts/<int:pk>/snooze", alerts.AlertSnoozeView.as_view(), name="alert-snooze"),
    path("alerts/<int:pk>/resolve", alerts.AlertResolveView.as_view(), name="alert-resolve"),
    path("insights/diagnosis", insights.DiagnosisView.as_view(), name="insights-diagnosis"),
    path("insights/segments", insights.SegmentListView.as_view(), name="insights-segments"),
    path("insights/reps", insights.RepListView.as_view(), name="insights-reps"),
    path("api-keys", keys.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<str:prefix>", keys.ApiKeyDetailView.as_view(), name="api-key-detail"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script as a file, so the page needs no inline script (CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("docs/redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    # Last: any other /api/ path answers 404 in the API's JSON error shape, not an HTML page.
    re_path(r"^[\s\S]*$", api_not_found, name="not-found"),
]
