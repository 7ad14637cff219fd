"""Health check and the tenant switcher."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from tenants.resolvers import SESSION_KEY, memberships_of


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
@require_POST
def tenant_switch(request: HttpRequest) -> HttpResponse:
    try:
        tenant_id = int(request.POST.get("tenant_id", ""))
    except ValueError:
        return HttpResponseBadRequest("tenant_id must be a number.")
    # Only a tenant the user belongs to can be chosen; anything else is ignored as not found.
    if not any(m.tenant_id == tenant_id for m in memberships_of(request.user.pk)):
        return HttpResponse("No such organisation.", status=404)
    request.session[SESSION_KEY] = tenant_id
    return redirect("home")
