from django.urls import reverse

from alerts.digest import unsubscribe_token
from alerts.models import DigestPreference
from tenants.context import tenant_context


def unsubscribe_path(tenant, user) -> str:
    return reverse(
        "alerts:unsubscribe", kwargs={"token": unsubscribe_token(tenant_id=tenant.pk, user_id=user.pk)}
    )


def frequency_of(tenant, user) -> str | None:
    with tenant_context(tenant):
        preference = DigestPreference.objects.filter(user=user).first()
        return preference.frequency if preference else None


def test_opening_the_link_changes_nothing_and_offers_the_button(client, tenant_a, user_a):
    response = client.get(unsubscribe_path(tenant_a, user_a))

    assert response.status_code == 200
    assert b"Unsubscribe" in response.content
    assert frequency_of(tenant_a, user_a) is None


def test_posting_the_link_unsubscribes_without_signing_in(client, tenant_a, user_a):
    response = client.post(unsubscribe_path(tenant_a, user_a))

    assert response.status_code == 200
    assert b"will no longer get the Acme Corp digest" in response.content
    assert frequency_of(tenant_a, user_a) == "off"


def test_mail_clients_one_click_post_unsubscribes(client, tenant_a, user_a):
    client.post(
        unsubscribe_path(tenant_a, user_a),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert frequency_of(tenant_a, user_a) == "off"


def test_an_unsubscribed_user_can_choose_a_frequency_again(client, tenant_a, user_a):
    client.post(unsubscribe_path(tenant_a, user_a))

    client.post(unsubscribe_path(tenant_a, user_a), {"frequency": "daily"})

    assert frequency_of(tenant_a, user_a) == "daily"


def test_a_tampered_token_is_not_found(client, tenant_a, user_a):
    path = unsubscribe_path(tenant_a, user_a)

    response = client.post(path.replace(":", "x", 1))

    assert response.status_code == 404


def test_a_link_for_a_tenant_the_user_does_not_belong_to_is_not_found(client, tenant_a, tenant_b, user_a):
    response = client.post(unsubscribe_path(tenant_b, user_a))

    assert response.status_code == 404
    assert frequency_of(tenant_b, user_a) is None
