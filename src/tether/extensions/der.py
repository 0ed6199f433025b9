"""A minimal DER reader: enough ASN.1 to walk a PKCS#7 SignedData and read its attributes.

Definite lengths, single-byte tags, strict bounds; every malformed input raises
``DerError``. It never allocates more than the input it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
OCTET_STRING = 0x04
OID = 0x06
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18


class DerError(ValueError):
    """The bytes are not the DER structure we expected."""


@dataclass(frozen=True, slots=True)
class Tlv:
    """One tag-length-value. ``raw`` is the whole encoding, ``value`` the contents."""

    tag: int
    raw: bytes
    header_len: int

    @property
    def value(self) -> bytes:
        return self.raw[self.header_len :]

    @property
    def is_constructed(self) -> bool:
        return bool(self.tag & 0x20)

    def children(self) -> list[Tlv]:
        if not self.is_constructed:
            raise DerError(f"tag 0x{self.tag:02x} is not constructed")
        return read_all(self.value)

    def expect(self, tag: int, what: str) -> Tlv:
        if self.tag != tag:
            raise DerError(f"{what}: expected tag 0x{tag:02x}, found 0x{self.tag:02x}")
        return self


def read_tlv(buf: bytes, offset: int = 0) -> tuple[Tlv, int]:
    """Read the TLV at ``offset``; return it and the offset just past it."""
    if offset + 2 > len(buf):
        raise DerError("truncated header")
    tag = buf[offset]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tags are not supported")
    first = buf[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0:
            raise DerError("indefinite lengths are not DER")
        if count > 4 or pos + count > len(buf):
            raise DerError("length out of range")
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(buf):
        raise DerError("value runs past the end of the data")
    return Tlv(tag, bytes(buf[offset:end]), pos - offset), end


def read_one(buf: bytes) -> Tlv:
    """Exactly one TLV that spans all of ``buf``."""
    tlv, end = read_tlv(buf)
    if end != len(buf):
        raise DerError(f"{len(buf) - end} trailing bytes")
    return tlv


def read_all(buf: bytes) -> list[Tlv]:
    items: list[Tlv] = []
    offset = 0
    while offset < len(buf):
        tlv, offset = read_tlv(buf, offset)
        items.append(tlv)
    return items


def oid(tlv: Tlv) -> str:
    data = tlv.expect(OID, "object identifier").value
    if not data or data[-1] & 0x80:
        raise DerError("bad object identifier")
    arcs: list[int] = []
    value = 0
    for byte in data:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in (first, arcs[0] - 40 * first, *arcs[1:]))


def integer(tlv: Tlv) -> int:
    data = tlv.expect(INTEGER, "integer").value
    if not data:
        raise DerError("empty integer")
    return int.from_bytes(data, "big", signed=True)


def time(tlv: Tlv) -> datetime:
    text = tlv.value.decode("ascii", errors="replace")
    try:
        if tlv.tag == UTC_TIME:
            parsed = datetime.strptime(text, "%y%m%d%H%M%SZ")
        elif tlv.tag == GENERALIZED_TIME:
            parsed = datetime.strptime(text.split(".")[0].rstrip("Z"), "%Y%m%d%H%M%S")
        else:
            raise DerError(f"tag 0x{tlv.tag:02x} is not a time")
    except ValueError as exc:
        raise DerError(f"bad time {text!r}") from exc
    return parsed.replace(tzinfo=UTC)
