"""Recipients file: the committed example loads; every problem names file, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.delivery.recipients import (
    AddressError,
    RecipientsError,
    known_brief_ids,
    load_recipients,
    parse_mailbox,
)

EXAMPLE = PROJECT_ROOT / "config" / "recipients.example.yaml"


def test_committed_example_is_valid_and_covers_every_brief():
    recipients = load_recipients(EXAMPLE)
    assert (
        set(recipients.lists)
        == known_brief_ids()
        == {
            "special_edition",
            "mobile_banking",
            "credit_card",
            "precious_metals",
            "private_banking",
        }
    )
    assert recipients.operators
    assert recipients.sender_domain == "example.com"
    for addresses in recipients.lists.values():
        assert addresses and all(a.endswith("@example.com") for a in addresses)


def test_env_var_selects_the_file(tmp_path, monkeypatch):
    custom = tmp_path / "recipients.yaml"
    custom.write_text(EXAMPLE.read_text(encoding="utf-8").replace("data-ops@", "ops2@"), "utf-8")
    monkeypatch.setenv("STRATEGY_BRIEFS_RECIPIENTS", str(custom))
    assert load_recipients().operators == ("ops2@example.com",)


BAD = """\
sender: "战略简报 <briefs@example.com>"
allowed_domains: [example.com]
operators: []
briefs:
  special_edition:
    - not-an-address
    - ceo@evil.example.org
    - Ceo@Example.com
    - ceo@example.com
  mobile_banking: []
  wealth_management: [a@example.com]
"""


def test_every_problem_is_reported_with_file_key_and_reason(tmp_path: Path):
    path = tmp_path / "recipients.yaml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(RecipientsError) as error:
        load_recipients(path)
    problems = error.value.problems
    assert all(p.startswith(f"{path}: ") for p in problems)
    text = "\n".join(problems)
    assert "operators: empty list" in text
    assert "briefs.special_edition[0]: malformed address 'not-an-address'" in text
    assert "briefs.special_edition[1]: domain 'evil.example.org'" in text
    assert "not in allowed_domains" in text
    assert "briefs.special_edition[3]: duplicate address 'ceo@example.com'" in text
    assert "briefs.mobile_banking: empty list" in text
    assert "briefs.wealth_management: unknown brief id" in text
    assert len(problems) == 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]", "(file): expected a mapping"),
        ("briefs: {", "(file): not valid YAML"),
        ("sender: nobody\nallowed_domains: [example.com]\noperators: [a@example.com]\n"
         "briefs: {special_edition: [a@example.com]}", "sender: malformed"),
        ("sender: a@example.com\noperators: [a@example.com]\n"
         "briefs: {special_edition: [a@example.com]}", "allowed_domains: must be a non-empty"),
    ],
)  # fmt: skip
def test_structural_errors(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "recipients.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecipientsError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_recipients(path)


def test_missing_file_is_named(tmp_path: Path):
    with pytest.raises(RecipientsError, match="not found"):
        load_recipients(tmp_path / "absent.yaml")


def test_brief_without_list_is_an_error_at_use(tmp_path: Path):
    path = tmp_path / "recipients.yaml"
    path.write_text(
        "sender: briefs@example.com\nallowed_domains: [example.com]\n"
        "operators: [ops@example.com]\nbriefs: {special_edition: [ceo@example.com]}\n",
        encoding="utf-8",
    )
    recipients = load_recipients(path)
    assert recipients.for_brief("special_edition") == ("ceo@example.com",)
    with pytest.raises(RecipientsError, match="briefs.credit_card: no distribution list"):
        recipients.for_brief("credit_card")


SMUGGLED = [
    "战略简报 <briefs@example.com>\r\nBcc: spy@example.com",
    "briefs@example.com, spy@example.com",
    "briefs@example.com <spy@example.com>",
]


@pytest.mark.parametrize("sender", SMUGGLED)
def test_a_sender_with_crlf_or_a_second_address_is_refused_at_load(tmp_path, sender):
    path = tmp_path / "recipients.yaml"
    document = EXAMPLE.read_text(encoding="utf-8")
    first_line = document.splitlines()[
        next(i for i, line in enumerate(document.splitlines()) if line.startswith("sender:"))
    ]
    quoted = sender.replace("\r", "\\r").replace("\n", "\\n")
    path.write_text(document.replace(first_line, f'sender: "{quoted}"'), encoding="utf-8")
    with pytest.raises(RecipientsError) as error:
        load_recipients(path)
    assert [p for p in error.value.problems if p.startswith(f"{path}: sender: ")], error.value


@pytest.mark.parametrize("address", SMUGGLED)
def test_the_operator_notice_and_the_briefs_refuse_the_same_addresses(address):
    """One parser everywhere: the notice used to copy the sender into From verbatim."""
    from strategy_briefs.delivery.message import build_operator_notice

    with pytest.raises(AddressError):
        build_operator_notice(address, ("data-ops@example.com",), "a run failed")
    with pytest.raises(AddressError):
        build_operator_notice("briefs@example.com", (address,), "a run failed")
    with pytest.raises(AddressError):
        parse_mailbox(address)


def test_a_display_name_sender_is_one_mailbox():
    mailbox = parse_mailbox("战略简报 <strategy-briefs@example.com>")
    assert (mailbox.name, mailbox.address) == ("战略简报", "strategy-briefs@example.com")
