"""A sender hears of cancels: by notification on PostgreSQL, by asking elsewhere."""

import pytest
from django.db import connection

from webhooks.services.cancels import CancelWatch, cancels_announce


@pytest.mark.django_db(transaction=True)
def test_a_watch_on_a_new_connection_first_asks_the_database():
    if connection.vendor != "postgresql":
        pytest.skip("notifications are PostgreSQL's; elsewhere every look asks the database")
    connection.close()  # a sender's new connection: its LISTEN starts after its claim

    first = CancelWatch()
    assert first.maybe_cancelled()  # a cancel may have committed before the LISTEN
    assert not first.maybe_cancelled()

    cancels_announce()  # autocommit: announced at once
    assert CancelWatch().maybe_cancelled()  # a later page's watch hears it
    assert not CancelWatch().maybe_cancelled()
