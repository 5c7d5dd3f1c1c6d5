"""Internationalized addresses on the wire (RFC 5890, 6531, 6532; contract §2).

Addresses are stored as email-validator normalizes them: the domain in Unicode
(``info@bücher.example``). On the wire the domain always travels as IDNA A-labels
(``info@xn--bcher-kva.example``), in the envelope and in the To header, so any server and
client can route and show it. A non-ASCII local part (``jürgen@example.com``) has no ASCII form
at all: it can only travel in an SMTPUTF8 transaction, with the UTF-8 headers of RFC 6532.

Errors::

    UnencodableAddress   the domain has no IDNA form (a permanent failure, never retried)
"""

from __future__ import annotations

import idna


class UnencodableAddress(ValueError):
    """An address that no SMTP transaction can carry."""


def wire_address(address: str) -> str:
    """``address`` with its domain as IDNA A-labels; ASCII addresses come back unchanged."""
    if address.isascii():
        return address
    local, at, domain = address.rpartition("@")
    if not at:
        raise UnencodableAddress(f"{address!r} has no domain")
    if domain.isascii():
        return address
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise UnencodableAddress(f"the domain of {address!r} has no IDNA form: {exc}") from None
    return f"{local}@{ascii_domain}"


def needs_smtputf8(address: str) -> bool:
    """Whether the address can only travel in an SMTPUTF8 transaction (a non-ASCII local part)."""
    return not address.rpartition("@")[0].isascii()


def header_address(address: str) -> str:
    """The form of ``address`` for the To header: the domain as IDNA, the local part as it is
    (non-ASCII only in a message that goes out with SMTPUTF8, whose headers are UTF-8)."""
    try:
        return wire_address(address)
    except UnencodableAddress:
        # The transport refuses this address with the reason; the header keeps what was given.
        return address
