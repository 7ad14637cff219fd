"""The digest's unsubscribe page: a signed link works without signing in.

GET shows what the link will do and a button (mail scanners prefetch links, so GET never
changes anything); POST applies it. Mail clients' one-click unsubscribe (RFC 8058) POSTs
``List-Unsubscribe=One-Click`` to the same URL, hence no CSRF token: the signed token is the
credential, and it can only switch that user's digest in that tenant.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from alerts.digest import unsubscribe_token_read
from alerts.models import DigestFrequency
from alerts.selectors import digest_frequency_for
from alerts.services import digest_preference_set
from tenants.context import tenant_context
from tenants.models import Membership, Tenant


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        tenant_id, user_id = unsubscribe_token_read(token)
    except signing.BadSignature as error:
        raise Http404("This unsubscribe link is not valid.") from error
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    user = get_user_model().objects.filter(pk=user_id).first()
    if tenant is None or user is None:
        raise Http404("This unsubscribe link is no longer valid.")
    with tenant_context(tenant):
        if not Membership.objects.filter(user=user).exists():
            raise Http404("This unsubscribe link is no longer valid.")
        changed = False
        if request.method == "POST":
            wanted = request.POST.get("frequency", DigestFrequency.OFF)
            if wanted not in DigestFrequency.values:
                wanted = DigestFrequency.OFF
            digest_preference_set(user=user, frequency=wanted)
            changed = True
        frequency = digest_frequency_for(user=user)
    return render(
        request,
        "alerts/unsubscribe.html",
        {
            "tenant_name": tenant.name,
            "email": user.email,
            "frequency": frequency,
            "frequencies": DigestFrequency.choices,
            "changed": changed,
            "token": token,
        },
    )
