"""import_suppressions: kinds recognised or named by column, bad values reported, hashes only."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from customers.services import customer_create
from leads.hashing import lead_key_hash
from screening.models import Suppression
from screening.selectors import suppressed_keys, suppressions_apply

pytestmark = pytest.mark.django_db


def run(tmp_path, text, *args, name="list.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    out, err = io.StringIO(), io.StringIO()
    call_command("import_suppressions", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def stored():
    return set(Suppression.objects.values_list("customer__slug", "kind"))


def test_one_value_per_line_is_recognised_by_kind(tmp_path):
    out, err = run(
        tmp_path,
        "# do not contact\nJane@Example.com\n07911 123456\nsw1a 1aa\njohn.smith.15031990\n"
        "\nnonsense\n",
    )

    assert sorted(Suppression.objects.values_list("kind", flat=True)) == [
        "email",
        "lead_id",
        "phone",
        "postcode",
    ]
    assert "line 7: not an e-mail, phone, lead id or postcode" in err
    assert "for every customer: 4 added, 0 already there" in out
    assert "1 bad" in out
    assert suppressed_keys(
        customer_pk=None, keys=["email:jane@example.com", "phone:+447911123456", "email:x@y.z"]
    ) == {"email:jane@example.com", "phone:+447911123456"}


def test_named_columns_read_each_as_its_kind_and_report_the_column(tmp_path):
    acme = customer_create(slug="acme", name="Acme").customer
    text = "Email;Phone;Notes\njane@example.com;07911 123456;x\nnot-mail;;y\n;020 7946 0000;z\n"

    _, err = run(tmp_path, text, "--customer", "acme")

    assert stored() == {("acme", "email"), ("acme", "phone")}
    assert Suppression.objects.count() == 3
    assert "line 3: column 'Email': not a valid email" in err
    assert suppressed_keys(customer_pk=acme.pk, keys=["phone:+442079460000"]) == {
        "phone:+442079460000"
    }
    assert suppressed_keys(customer_pk=None, keys=["phone:+442079460000"]) == set()


def test_suppressions_apply_to_their_customer_or_with_a_global_list_to_all(tmp_path):
    acme = customer_create(slug="acme", name="Acme").customer
    other = customer_create(slug="other", name="Other").customer
    assert not suppressions_apply(customer_pk=acme.pk)  # chunks then skip the look-up

    run(tmp_path, "jane@example.com\n", "--customer", "acme")
    assert suppressions_apply(customer_pk=acme.pk)
    assert not suppressions_apply(customer_pk=other.pk)
    assert not suppressions_apply(customer_pk=None)

    run(tmp_path, "john@example.com\n")
    assert suppressions_apply(customer_pk=other.pk) and suppressions_apply(customer_pk=None)


def test_importing_again_adds_nothing_and_scopes_are_apart(tmp_path):
    customer_create(slug="acme", name="Acme")
    run(tmp_path, "jane@example.com\n")
    out, _ = run(tmp_path, "jane@example.com\nJANE@example.com\n")
    assert "0 added, 1 already there" in out

    run(tmp_path, "jane@example.com\n", "--customer", "acme")
    assert stored() == {(None, "email"), ("acme", "email")}


def test_values_are_stored_as_keyed_hashes_never_in_plain(tmp_path):
    run(tmp_path, "jane@example.com\n07911 123456\nSW1A 1AA\njohn.smith.15031990\n")

    entry = Suppression.objects.get(kind="email")
    assert entry.value_hash == lead_key_hash("email:jane@example.com")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Suppression._meta.db_table}")
        # The text cells (a time's microseconds could hold any four digits), searched for
        # the values in full: a short run of digits can turn up in a hex hash by chance.
        dump = repr([cell for row in cursor.fetchall() for cell in row if isinstance(cell, str)])
    for plain in ("jane", "example", "7911123456", "7911 123456", "SW1A", "smith", "15031990"):
        assert plain not in dump


def test_windows_1252_text_is_read(tmp_path):
    run(tmp_path, "josé@example.com\n", encoding="cp1252")
    assert suppressed_keys(customer_pk=None, keys=["email:josé@example.com"])


def test_an_unknown_customer_or_a_binary_file_is_refused_and_nothing_is_stored(tmp_path):
    with pytest.raises(CommandError, match="unknown customer 'nope'"):
        run(tmp_path, "jane@example.com\n", "--customer", "nope")
    with pytest.raises(CommandError, match="not a text file"):
        run(tmp_path, "jane@example.com\x00\x01\n", name="list.bin")
    assert not Suppression.objects.exists()


def test_bad_values_are_reported_by_the_file_line_even_after_a_multi_line_cell(tmp_path):
    _, err = run(tmp_path, 'email,notes\n"jane@example.com","two\nlines"\nbad,\n')

    assert "line 4: column 'email': not a valid email" in err
    assert Suppression.objects.count() == 1
