"""Distribution lists: who receives which brief, read from a YAML file and validated at load.

File format (see `config/recipients.example.yaml`)::

    sender: "战略简报 <strategy-briefs@example.com>"
    allowed_domains: [example.com]
    operators: [data-ops@example.com]
    briefs:
      special_edition: [ceo@example.com, ...]     # the combined edition -> executives
      mobile_banking: [head.online@example.com]   # each line of business -> its department heads

Every problem found is reported at once, each line naming the file, the key and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formataddr
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strategy_briefs.catalogue import Catalogue

SPECIAL_EDITION = "special_edition"

# A pragmatic dot-atom addr-spec: what corporate mail systems actually hand out.
_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


# The one address form accepted anywhere (sender, lists, operator notice): a bare addr-spec
# or 'Display Name <addr-spec>'; a name has no quotes, brackets, '@', ',' or ';', so a
# second address cannot hide in it.
_MAILBOX_RE = re.compile(r"^(?:(?P<name>[^<>@,;\"]*?)\s*<(?P<angle>[^<>]*)>|(?P<bare>[^<>]*))$")


class AddressError(ValueError):
    """Not exactly one usable mail address (the message says why)."""


@dataclass(frozen=True)
class Mailbox:
    name: str  # '' when the address has no display name
    address: str  # local@domain

    @property
    def header(self) -> str:
        """The form for a From/To header: the name RFC 2047-encoded by the policy."""
        return formataddr((self.name, self.address)) if self.name else self.address


def parse_mailbox(text: object) -> Mailbox:
    """Exactly one address, 'local@domain' or 'Name <local@domain>'; raises `AddressError`.

    Rules: a string; no control character anywhere (a CR or LF would start a new
    header); one address only (a second one after ',' or in the name is refused);
    the addr-spec a pragmatic dot-atom local part at a DNS domain.
    """
    if not isinstance(text, str):
        raise AddressError(f"address must be a string, got {type(text).__name__} {text!r}")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise AddressError(f"address {text!r} has a control character (CR/LF): one line only")
    match = _MAILBOX_RE.match(text.strip()) if text == text.strip() else None
    address = match and (match["angle"] if match["angle"] is not None else match["bare"])
    if not address or address.count("@") != 1:
        raise AddressError(f"malformed address {text!r} (expected one local@domain)")
    local, domain = address.split("@")
    if not _LOCAL_RE.match(local) or len(local) > 64 or not _DOMAIN_RE.match(domain):
        raise AddressError(f"malformed address {text!r} (expected one local@domain)")
    return Mailbox(name=(match["name"] or "").strip(), address=address)


class RecipientsError(ValueError):
    """The recipients file is unusable; `problems` holds one 'file: key: reason' line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Recipients:
    """Validated distribution lists. Addresses are lower-cased (they key the ledger)."""

    source: Path
    sender: str
    allowed_domains: tuple[str, ...]
    operators: tuple[str, ...]
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def sender_address(self) -> str:
        return parse_mailbox(self.sender).address

    @property
    def sender_domain(self) -> str:
        return self.sender_address.rsplit("@", 1)[1]

    def for_brief(self, brief_id: str) -> tuple[str, ...]:
        """The distribution list of one brief; an error naming the file when it has none."""
        try:
            return self.lists[brief_id]
        except KeyError:
            raise RecipientsError(
                [f"{self.source}: briefs.{brief_id}: no distribution list for this brief"]
            ) from None


def known_brief_ids(catalogue: Catalogue | None = None) -> frozenset[str]:
    """`special_edition` plus every line of business of the catalogue (the project's when
    not given)."""
    if catalogue is None:
        from strategy_briefs.catalogue import load_catalogue
        from strategy_briefs.config import Settings

        catalogue = load_catalogue(Settings.from_env().seeds_dir)
    return frozenset({SPECIAL_EDITION, *catalogue.lines_of_business})


def address_problem(address: object, allowed_domains: Iterable[str]) -> str | None:
    """Why `address` is unusable as a recipient, or None when it is fine."""
    try:
        mailbox = parse_mailbox(address)
    except AddressError as error:
        return str(error)
    if mailbox.name or mailbox.address != address:
        return f"malformed address {address!r} (expected local@domain)"
    domain = mailbox.address.split("@")[1]
    if domain.lower() not in {d.lower() for d in allowed_domains}:
        return f"domain {domain!r} of {address!r} is not in allowed_domains"
    return None


def load_recipients(
    path: Path | None = None, *, brief_ids: Iterable[str] | None = None
) -> Recipients:
    """Read and validate the recipients file (`STRATEGY_BRIEFS_RECIPIENTS` when `path` is None)."""
    import yaml

    if path is None:
        from strategy_briefs.config import Settings

        path = Settings.from_env().recipients_file
    path = Path(path)
    known = frozenset(brief_ids) if brief_ids is not None else known_brief_ids()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipientsError([f"{path}: (file): not found"]) from None
    except yaml.YAMLError as exc:
        raise RecipientsError([f"{path}: (file): not valid YAML: {exc}"]) from None
    return parse_recipients(document, source=path, brief_ids=known)


def parse_recipients(document: object, *, source: Path, brief_ids: Iterable[str]) -> Recipients:
    """Validate an already parsed YAML document; see `load_recipients`."""
    problems: list[str] = []

    def problem(key: str, reason: str) -> None:
        problems.append(f"{source}: {key}: {reason}")

    if not isinstance(document, dict):
        raise RecipientsError([f"{source}: (file): expected a mapping at the top level"])
    unknown_keys = set(document) - {"sender", "allowed_domains", "operators", "briefs"}
    for key in sorted(map(str, unknown_keys)):
        problem(key, "unknown key (expected sender, allowed_domains, operators, briefs)")

    domains = document.get("allowed_domains")
    if not isinstance(domains, list) or not domains:
        problem("allowed_domains", "must be a non-empty list of domains")
        domains = []
    allowed: list[str] = []
    for index, domain in enumerate(domains):
        if not isinstance(domain, str) or not _DOMAIN_RE.match(domain):
            problem(f"allowed_domains[{index}]", f"malformed domain {domain!r}")
        else:
            allowed.append(domain.lower())

    sender = document.get("sender")
    try:
        sender_address = parse_mailbox(sender).address
    except AddressError as error:
        problem("sender", f"{error}; expected 'Name <local@domain>'")
    else:
        if reason := address_problem(sender_address, allowed):
            problem("sender", reason)

    def address_list(key: str, value: object) -> tuple[str, ...]:
        if value is None or (isinstance(value, list) and not value):
            problem(key, "empty list (every list needs at least one address)")
            return ()
        if not isinstance(value, list):
            problem(key, f"must be a list of addresses, got {type(value).__name__}")
            return ()
        seen: list[str] = []
        for index, address in enumerate(value):
            reason = address_problem(address, allowed)
            if reason:
                problem(f"{key}[{index}]", reason)
            elif address.lower() in seen:
                problem(f"{key}[{index}]", f"duplicate address {address!r}")
            else:
                seen.append(address.lower())
        return tuple(seen)

    operators = address_list("operators", document.get("operators"))

    briefs = document.get("briefs")
    lists: dict[str, tuple[str, ...]] = {}
    if not isinstance(briefs, dict) or not briefs:
        problem("briefs", "must map each brief id to a non-empty list of addresses")
        briefs = {}
    known = frozenset(brief_ids)
    for brief_id, value in briefs.items():
        if brief_id not in known:
            problem(f"briefs.{brief_id}", f"unknown brief id (known: {', '.join(sorted(known))})")
            continue
        lists[brief_id] = address_list(f"briefs.{brief_id}", value)

    if problems:
        raise RecipientsError(problems)
    return Recipients(
        source=source,
        sender=str(sender),
        allowed_domains=tuple(allowed),
        operators=operators,
        lists=lists,
    )
