from django.contrib.auth import views as auth_views
from django.urls import path

from web.forms import EmailAuthenticationForm
from web.views import (
    account,
    admin,
    alerts,
    deals,
    diagnosis,
    export,
    imports,
    model,
    reps,
    risk_board,
    segments,
    settings,
)

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("tenant/switch/", account.tenant_switch, name="tenant_switch"),
    path("healthz", account.healthz, name="healthz"),
    path("", diagnosis.diagnosis, name="home"),
    path("segments/", segments.segments, name="segments"),
    path("reps/", reps.reps, name="reps"),
    path("reps/<int:pk>/", reps.rep_detail, name="rep_detail"),
    path("deals/", risk_board.risk_board, name="risk_board"),
    path("deals/export.csv", export.risk_board_export, name="risk_board_export"),
    path("deals/<int:pk>/", deals.deal_detail, name="deal_detail"),
    path("alerts/", alerts.alerts, name="alerts"),
    path("alerts/bulk/", alerts.alerts_bulk, name="alerts_bulk"),
    path("alerts/<int:pk>/act/", alerts.alert_act, name="alert_act"),
    path("model/", model.model, name="model"),
    path("settings/", admin.settings_home, name="settings_home"),
    path("settings/imports/", imports.imports, name="settings_imports"),
    path("settings/imports/upload/", imports.import_upload_view, name="settings_import_upload"),
    path("settings/imports/<str:upload_id>/map/", imports.import_map, name="settings_import_map"),
    path("settings/imports/<str:upload_id>/", imports.import_status, name="settings_import_status"),
    path("settings/imports/<str:upload_id>/run/", imports.import_run, name="settings_import_run"),
    path("settings/mappings/", imports.mappings, name="settings_mappings"),
    path("settings/mappings/<int:pk>/delete/", imports.mapping_delete, name="settings_mapping_delete"),
    path("settings/api-keys/", settings.api_keys, name="settings_api_keys"),
    path("settings/api-keys/<int:pk>/revoke/", settings.api_key_revoke_view, name="settings_api_key_revoke"),
    path("settings/alert-rules/", settings.alert_rules_view, name="settings_alert_rules"),
    path("settings/alert-rules/<int:pk>/", settings.alert_rule_save, name="settings_alert_rule_save"),
    path("account/digest/", settings.digest_preference, name="account_digest"),
    path("settings/members/", admin.members, name="settings_members"),
    path("settings/members/invite/", admin.member_invite, name="settings_member_invite"),
    path("settings/members/<int:pk>/role/", admin.member_role, name="settings_member_role"),
    path("settings/members/<int:pk>/remove/", admin.member_remove, name="settings_member_remove"),
]
