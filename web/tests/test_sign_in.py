"""Sign in with the email address, sign out, and reset a forgotten password by email."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client
from django.urls import reverse


def test_the_sign_in_page_asks_for_the_email_address(client: Client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'<label for="id_username">Email</label>' in response.content


def test_a_member_signs_in_with_email_and_password_and_lands_on_the_diagnosis(client: Client, user_a):
    response = client.post(reverse("login"), {"username": "ada@acme.test", "password": "pw-acme-123"})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_wrong_password_shows_an_error_and_no_session(client: Client, user_a):
    response = client.post(reverse("login"), {"username": "ada@acme.test", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct" in response.content
    assert "_auth_user_id" not in client.session


def test_signing_out_ends_the_session(admin_client: Client):
    response = admin_client.post(reverse("logout"))
    assert response.status_code == 302
    assert admin_client.get(reverse("home")).status_code == 302


def test_password_reset_emails_a_link_that_sets_a_new_password(client: Client, user_a):
    response = client.post(reverse("password_reset"), {"email": "ada@acme.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/password/reset/\S+/)", mail.outbox[0].body)
    assert link is not None
    # The link redirects to a session-bound URL that shows the form.
    form_page = client.get(link.group(1), follow=True)
    assert b"Choose a new password" in form_page.content
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand-new-Secret-42", "new_password2": "brand-new-Secret-42"},
    )
    assert done.status_code == 302
    assert client.login(username="ada@acme.test", password="brand-new-Secret-42")


def test_password_reset_for_an_unknown_address_sends_nothing_but_looks_the_same(client: Client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.test"})
    assert response.status_code == 302
    assert mail.outbox == []
