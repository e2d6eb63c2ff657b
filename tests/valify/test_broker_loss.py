"""The worker's consumer survives a lost broker connection: closing it, and acks after it."""

from unittest import mock

import pytest
from celery.worker.consumer import Consumer
from kombu import Connection

from valify.celery import BrokerLossConsumer, app


def lost_connection_consumer(cls):
    """A consumer as it is when the broker went away: its close raises as Redis's can."""
    consumer = cls.__new__(cls)
    consumer.app = app
    consumer.connection = mock.Mock(name="connection", connection_errors=(), channel_errors=())
    consumer.connection.close.side_effect = AttributeError(
        "'NoneType' object has no attribute 'hostname'"
    )
    consumer.qos_global = None
    consumer.prefetch_multiplier = 1
    consumer.pool = mock.Mock(num_processes=2)
    return consumer


def test_celerys_own_consumer_lets_the_close_error_end_the_worker():
    # What the subclass is for: if Celery stops letting this escape, it can go.
    consumer = lost_connection_consumer(Consumer)
    with pytest.raises(AttributeError, match="hostname"):
        consumer.on_connection_error_after_connected(OSError())


def test_the_worker_consumer_goes_on_to_reconnect():
    consumer = lost_connection_consumer(BrokerLossConsumer)
    close = consumer.connection.close

    consumer.on_connection_error_after_connected(OSError("Connection closed by server."))

    close.assert_called_once()
    assert consumer.connection is None  # released: the restart opens a new one


def test_the_worker_uses_that_consumer():
    assert app.conf.worker_consumer == "valify.celery:BrokerLossConsumer"


def lost(consumer_cls, connection):
    consumer = lost_connection_consumer(consumer_cls)
    consumer.connection = connection
    return consumer


def test_celerys_consumer_leaves_the_lost_transport_without_the_brokers_address():
    # On Redis, a task still running then acks through that transport: AttributeError.
    connection = Connection("memory://")
    transport = connection.transport

    lost(Consumer, connection).on_connection_error_after_connected(OSError())

    assert transport.client is None


def test_the_worker_consumer_keeps_it_for_what_the_lost_connection_delivered():
    connection = Connection("memory://")
    transport, client = connection.transport, connection.transport.client

    lost(BrokerLossConsumer, connection).on_connection_error_after_connected(OSError())

    assert transport.client is client
