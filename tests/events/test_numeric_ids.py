"""A numeric id in a path is ASCII digits: Python's int() also reads fullwidth ("\uff11") and Arabic-Indic ("\u0661")
digits, signed, spaced and underscored numbers, so those found the object they spell; they are not found now (404),
and change nothing."""

import pytest
from django.utils import timezone

from events.models import Subscription
from playback.models import Export

from ..factories import EventFactory
from .kalay import data, error, post

pytestmark = pytest.mark.django_db

FULLWIDTH = str.maketrans("0123456789", "".join(map(chr, range(0xFF10, 0xFF1A))))
ARABIC_INDIC = str.maketrans("0123456789", "".join(map(chr, range(0x0660, 0x066A))))


def spellings(pk: int) -> list[str]:
    """`pk` as int() reads it but a URL must not name it."""
    digits = str(pk)
    return [digits.translate(FULLWIDTH), digits.translate(ARABIC_INDIC), f"+{digits}", f"%20{digits}", f"0_{digits}"]


@pytest.fixture
def export_a(tenant_a) -> Export:
    now = timezone.now()
    return Export.objects.create(tenant=tenant_a, start=now, end=now, expires=now + timezone.timedelta(days=1))


@pytest.fixture
def sub_a(tenant_a) -> Subscription:
    return Subscription.objects.create(tenant=tenant_a, url="https://hooks.example.com/vms")


def test_an_export_id_in_other_digits_is_not_found(client_a, export_a):
    assert client_a.get(f"/v2/api/exports/{export_a.pk}").status_code == 200
    for pk in spellings(export_a.pk):
        assert client_a.get(f"/v2/api/exports/{pk}").json() == {"detail": "Not found.", "code": "not_found"}, pk
        assert client_a.patch(f"/v2/api/exports/{pk}", {"legal_hold": True}, format="json").status_code == 404
        assert client_a.delete(f"/v2/api/exports/{pk}").status_code == 404
    export_a.refresh_from_db()
    assert not export_a.legal_hold


def test_a_subscription_id_in_other_digits_is_not_found(client_a, sub_a):
    assert client_a.get(f"/v2/api/subscriptions/{sub_a.pk}").status_code == 200
    for pk in spellings(sub_a.pk):
        assert client_a.get(f"/v2/api/subscriptions/{pk}").status_code == 404, pk
        assert client_a.get(f"/v2/api/subscriptions/{pk}/deliveries").status_code == 404
        assert client_a.patch(f"/v2/api/subscriptions/{pk}", {"enabled": False}, format="json").status_code == 404
        assert client_a.delete(f"/v2/api/subscriptions/{pk}").status_code == 404
    sub_a.refresh_from_db()
    assert sub_a.enabled


def test_event_ids_are_text_so_other_digits_name_no_event(client_a, tenant_a):
    event = EventFactory(tenant=tenant_a, id="evt-1")
    assert client_a.get("/v2/api/events/evt-1").status_code == 200
    assert client_a.get("/v2/api/events/evt-\uff11").status_code == 404
    assert "evt-\uff11" in error(post(client_a, 'mutation {update_event(pk: "evt-\uff11", tags: ["x"])}'), 404)
    assert data(post(client_a, 'mutation {update_event(pk: "evt-1", tags: ["x"])}'))
    event.refresh_from_db()
    assert event.tags == ["x"]


def test_a_page_cursor_in_other_digits_is_a_400(client_a, export_a, sub_a):
    for path in ("/v2/api/exports", "/v2/api/subscriptions"):
        assert client_a.get(path, {"before": "1"}).status_code == 200
        for spelt in ("\uff11", "\u0661", "+1", " 1", "0_1"):
            response = client_a.get(path, {"before": spelt})
            assert (response.status_code, response.json()["code"]) == (400, "invalid"), (path, spelt)
