"""A sender hears of cancels: by notification on PostgreSQL, by asking elsewhere."""

import pytest
from django.db import connection

from webhooks.services.cancels import CancelWatch, cancels_announce, cancels_listen


@pytest.mark.django_db(transaction=True)
def test_a_cancel_between_a_senders_claim_and_its_first_look_is_heard():
    if connection.vendor != "postgresql":
        pytest.skip("notifications are PostgreSQL's; elsewhere every look asks the database")
    connection.close()  # a sender's new connection
    cancels_listen()  # as the drain does before it claims

    cancels_announce()  # committed after the claim, before the page's first look
    assert CancelWatch().maybe_cancelled()
    assert not CancelWatch().maybe_cancelled()
