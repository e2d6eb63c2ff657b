"""A worker builds what the rules and enrichment load lazily once, before its pool forks."""

import logging
import socket
import weakref

import pytest

from batches.services import warm
from batches.services.warm import rules_warm_up
from leads.enrichment import company
from valify import celery as worker_app


@pytest.mark.django_db
def test_the_warm_up_builds_the_suffix_trie_with_no_query_and_no_network(
    monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(company._EXTRACT, "_extractor", None)  # as a new process has it

    def connect(*args, **kwargs):
        raise AssertionError("the warm-up opened a connection")

    monkeypatch.setattr(socket.socket, "connect", connect)
    with django_assert_num_queries(0):
        rules_warm_up()

    assert company._EXTRACT._extractor is not None


def test_a_worker_warms_up_when_it_starts(monkeypatch):
    calls = []
    monkeypatch.setattr(warm, "rules_warm_up", lambda: calls.append("warmed"))

    worker_app._warm_rules_before_forking(sender=None)

    assert calls == ["warmed"]
    receivers = [
        receiver() if isinstance(receiver, weakref.ref) else receiver
        for _, receiver in worker_app.worker_init.receivers
    ]
    assert worker_app._warm_rules_before_forking in receivers


def test_a_worker_whose_custom_rule_fails_the_warm_up_still_starts(monkeypatch, caplog):
    def broken():
        raise RuntimeError("a custom validator failed")

    monkeypatch.setattr(warm, "rules_warm_up", broken)

    with caplog.at_level(logging.WARNING, logger="valify.celery"):
        worker_app._warm_rules_before_forking(sender=None)

    assert [r.message for r in caplog.records] == ["worker.warm_up_failed"]
