from django.contrib.auth import views as auth_views
from django.urls import path

from web.forms import EmailAuthenticationForm
from web.views import account, admin, alerts, deals, diagnosis, export, model, reps, risk_board, segments

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
    path("model/", model.model, name="model"),
    path("settings/", admin.settings_home, name="settings_home"),
    path("settings/members/", admin.members, name="settings_members"),
    path("settings/members/invite/", admin.member_invite, name="settings_member_invite"),
    path("settings/members/<int:pk>/role/", admin.member_role, name="settings_member_role"),
    path("settings/members/<int:pk>/remove/", admin.member_remove, name="settings_member_remove"),
]
