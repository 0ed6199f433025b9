"""Verify and make the signature block that ``mcpb sign`` appends to a bundle.

Layout (reference src/node/sign.ts): ``zip || "MCPB_SIG_V1" || uint32 LE length ||
DER PKCS#7 SignedData (detached) || "MCPB_SIG_END"``; older bundles use DXT_SIG_V1/DXT_SIG_END.
Only a trailing block that parses exactly counts. The PKCS#7 is walked with ``der`` and
checked with ``cryptography``: digest, signature over the signed attributes, chain, dates.
"""

from __future__ import annotations

import enum
import hmac
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tether.extensions import der

MARKERS = ((b"MCPB_SIG_V1", b"MCPB_SIG_END"), (b"DXT_SIG_V1", b"DXT_SIG_END"))

_SIGNED_DATA = "1.2.840.113549.1.7.2"
_DATA = "1.2.840.113549.1.7.1"
_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_SIGNING_TIME = "1.2.840.113549.1.9.5"
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}
_RSA = {"1.2.840.113549.1.1.1", "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13"}
_ECDSA = {"1.2.840.10045.2.1", "1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4"}
_ED25519 = "1.3.101.112"

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class SignatureStatus(enum.StrEnum):
    UNSIGNED = "unsigned"
    SIGNED = "signed"  # valid signature, chain ends at a trusted root
    SELF_SIGNED = "self_signed"  # valid signature by a self-signed certificate, not trusted
    UNTRUSTED = "untrusted"  # valid signature, chain ends at a certificate nobody trusts
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class SignatureBlock:
    header: bytes
    pkcs7_der: bytes


@dataclass(frozen=True, slots=True)
class SignatureResult:
    """What the signature says. ``publisher`` is the signer's common name, as ``mcpb`` shows it."""

    status: SignatureStatus
    reason: str = ""
    subject: str | None = None
    publisher: str | None = None
    issuer: str | None = None
    fingerprint_sha256: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    signing_time: datetime | None = None
    chain: tuple[x509.Certificate, ...] = field(default=(), compare=False, repr=False)

    @property
    def is_signature_valid(self) -> bool:
        return self.status in (SignatureStatus.SIGNED, SignatureStatus.SELF_SIGNED, SignatureStatus.UNTRUSTED)

    def __str__(self) -> str:
        if self.status is SignatureStatus.UNSIGNED:
            return "unsigned"
        if self.status is SignatureStatus.SIGNED:
            return f"signed by {self.publisher}"
        if self.status is SignatureStatus.SELF_SIGNED:
            return f"self-signed by {self.publisher} (valid signature, not trusted)"
        if self.status is SignatureStatus.UNTRUSTED:
            return f"signed by {self.publisher} (valid signature, {self.reason})"
        return f"invalid signature ({self.reason})"


def split_signature(data: bytes) -> tuple[bytes, SignatureBlock | None]:
    """Split a file into its zip bytes and trailing signature block, if one parses exactly."""
    for header, footer in MARKERS:
        if not data.endswith(footer):
            continue
        end = len(data) - len(footer)
        start = data.rfind(header, 0, end)
        while start != -1:
            length_at = start + len(header)
            if length_at + 4 <= end:
                (length,) = struct.unpack_from("<I", data, length_at)
                if length_at + 4 + length == end:
                    return data[:start], SignatureBlock(header, data[length_at + 4 : end])
            start = data.rfind(header, 0, start)
    return data, None


def signature_block(pkcs7_der: bytes) -> bytes:
    header, footer = MARKERS[0]
    return header + struct.pack("<I", len(pkcs7_der)) + pkcs7_der + footer


def sign_bundle(
    zip_bytes: bytes,
    cert: x509.Certificate,
    key: SigningKey,
    intermediates: Sequence[x509.Certificate] = (),
) -> bytes:
    """Sign like ``mcpb sign``: a detached PKCS#7 over the zip, appended as a block.

    An existing signature block is replaced, not signed over.
    """
    unsigned, _ = split_signature(zip_bytes)
    builder = pkcs7.PKCS7SignatureBuilder().set_data(unsigned).add_signer(cert, key, hashes.SHA256())
    for extra in intermediates:
        builder = builder.add_certificate(extra)
    options = [
        pkcs7.PKCS7Options.DetachedSignature,
        pkcs7.PKCS7Options.Binary,
        pkcs7.PKCS7Options.NoCapabilities,
    ]
    return unsigned + signature_block(builder.sign(serialization.Encoding.DER, options))


def verify_signature(
    data: bytes,
    *,
    trusted_roots: Sequence[x509.Certificate] = (),
    now: datetime | None = None,
) -> SignatureResult:
    """Check the signature of a bundle file (zip plus optional block). Never raises on bad input."""
    zip_bytes, block = split_signature(data)
    if block is None:
        return SignatureResult(SignatureStatus.UNSIGNED)
    try:
        signed = _parse_signed_data(block.pkcs7_der)
        return _verify(signed, zip_bytes, trusted_roots, now or datetime.now(UTC))
    except (ValueError, IndexError) as exc:  # DerError is a ValueError, as are bad certificates
        return _invalid(f"malformed signature block: {exc}")


# -- parsing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SignedData:
    certificates: tuple[x509.Certificate, ...]
    embedded_content: bytes | None
    sid_issuer: bytes | None  # raw DER Name, with sid_serial
    sid_serial: int | None
    sid_key_id: bytes | None
    digest_oid: str
    signed_attrs: der.Tlv | None
    signature_oid: str
    signature: bytes


def _parse_signed_data(blob: bytes) -> _SignedData:
    content_info = der.read_one(blob).expect(der.SEQUENCE, "ContentInfo").children()
    if len(content_info) != 2 or der.oid(content_info[0]) != _SIGNED_DATA:
        raise der.DerError("not a PKCS#7 SignedData")
    (signed_data,) = content_info[1].expect(0xA0, "content").children()
    fields = signed_data.expect(der.SEQUENCE, "SignedData").children()
    if len(fields) < 4:
        raise der.DerError("SignedData is too short")
    encap = fields[2].expect(der.SEQUENCE, "encapContentInfo").children()
    if not encap or der.oid(encap[0]) != _DATA:
        raise der.DerError("signed content is not plain data")
    embedded = encap[1].children()[0].expect(der.OCTET_STRING, "eContent").value if len(encap) > 1 else None
    certificates: list[x509.Certificate] = []
    signer_infos: der.Tlv | None = None
    for item in fields[3:]:
        if item.tag == 0xA0:
            certificates += [
                x509.load_der_x509_certificate(c.raw) for c in item.children() if c.tag == der.SEQUENCE
            ]
        elif item.tag == der.SET:
            signer_infos = item
    if signer_infos is None:
        raise der.DerError("no signerInfos")
    signers = signer_infos.children()
    if len(signers) != 1:
        raise der.DerError(f"expected one signer, found {len(signers)}")
    info = signers[0].expect(der.SEQUENCE, "SignerInfo").children()
    if len(info) < 5:
        raise der.DerError("SignerInfo is too short")
    sid = info[1]
    issuer = serial = key_id = None
    if sid.tag == der.SEQUENCE:
        issuer_tlv, serial_tlv = sid.children()
        issuer, serial = issuer_tlv.raw, der.integer(serial_tlv)
    elif sid.tag == 0x80:
        key_id = sid.value
    else:
        raise der.DerError("unknown signer identifier")
    digest_oid = der.oid(info[2].children()[0])
    rest = info[3:]
    signed_attrs = rest.pop(0) if rest[0].tag == 0xA0 else None
    signature_oid = der.oid(rest[0].expect(der.SEQUENCE, "signatureAlgorithm").children()[0])
    signature = rest[1].expect(der.OCTET_STRING, "signature").value
    return _SignedData(
        tuple(certificates),
        embedded,
        issuer,
        serial,
        key_id,
        digest_oid,
        signed_attrs,
        signature_oid,
        signature,
    )


def _attributes(signed_attrs: der.Tlv) -> dict[str, list[der.Tlv]]:
    attributes: dict[str, list[der.Tlv]] = {}
    for attribute in signed_attrs.children():
        kind, values = attribute.expect(der.SEQUENCE, "Attribute").children()
        name = der.oid(kind)
        if name in attributes:
            raise der.DerError(f"attribute {name} appears twice")
        attributes[name] = values.expect(der.SET, "attribute values").children()
    return attributes


# -- checking --------------------------------------------------------------------------------


def _verify(
    signed: _SignedData, zip_bytes: bytes, trusted: Sequence[x509.Certificate], now: datetime
) -> SignatureResult:
    digest_type = _DIGESTS.get(signed.digest_oid)
    if digest_type is None:
        return _invalid(f"unsupported digest algorithm {signed.digest_oid}")
    if signed.embedded_content is not None and signed.embedded_content != zip_bytes:
        return _invalid("the signed content is not this bundle")
    signer = _find_signer(signed)
    if signer is None:
        return _invalid("the signer's certificate is not in the signature")
    hasher = hashes.Hash(digest_type())
    hasher.update(zip_bytes)
    digest = hasher.finalize()
    signing_time: datetime | None = None
    if signed.signed_attrs is not None:
        try:
            attributes = _attributes(signed.signed_attrs)
            claimed = attributes[_MESSAGE_DIGEST][0].expect(der.OCTET_STRING, "messageDigest").value
            if _CONTENT_TYPE in attributes and der.oid(attributes[_CONTENT_TYPE][0]) != _DATA:
                return _invalid("the signed content type is not data")
            if _SIGNING_TIME in attributes:
                signing_time = der.time(attributes[_SIGNING_TIME][0])
        except (KeyError, IndexError, der.DerError) as exc:
            return _invalid(f"malformed signed attributes: {exc}")
        if not hmac.compare_digest(claimed, digest):
            return _invalid("the bundle was changed after it was signed")
        # The signature covers the attributes re-tagged from [0] IMPLICIT to SET OF.
        to_verify = bytes([der.SET]) + signed.signed_attrs.raw[1:]
    else:
        to_verify = zip_bytes
    problem = _check_signature(signer, signed, digest_type(), to_verify)
    if problem:
        return _invalid(problem)
    return _judge_chain(signer, signed.certificates, trusted, now, signing_time)


def _find_signer(signed: _SignedData) -> x509.Certificate | None:
    for cert in signed.certificates:
        if signed.sid_key_id is not None:
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            if ski == signed.sid_key_id:
                return cert
        elif cert.serial_number == signed.sid_serial and _issuer_der(cert) == signed.sid_issuer:
            return cert
    return None


def _issuer_der(cert: x509.Certificate) -> bytes:
    tbs = der.read_one(cert.tbs_certificate_bytes).children()
    index = 3 if tbs[0].tag == 0xA0 else 2  # [0] version, serial, signature, issuer
    return tbs[index].raw


def _check_signature(
    cert: x509.Certificate, signed: _SignedData, digest: hashes.HashAlgorithm, data: bytes
) -> str | None:
    key = cert.public_key()
    try:
        if signed.signature_oid in _RSA and isinstance(key, rsa.RSAPublicKey):
            key.verify(signed.signature, data, padding.PKCS1v15(), digest)
        elif signed.signature_oid in _ECDSA and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signed.signature, data, ec.ECDSA(digest))
        elif signed.signature_oid == _ED25519 and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signed.signature, data)
        else:
            return f"unsupported signature algorithm {signed.signature_oid} for this key"
    except InvalidSignature:
        return "the signature does not match the signer's certificate"
    return None


def _judge_chain(
    signer: x509.Certificate,
    pool: Sequence[x509.Certificate],
    trusted: Sequence[x509.Certificate],
    now: datetime,
    signing_time: datetime | None,
) -> SignatureResult:
    def result(status: SignatureStatus, reason: str = "") -> SignatureResult:
        return _describe(status, reason, signer, tuple(chain), signing_time)

    chain = [signer]
    problem = _usable_for_signing(signer, now)
    if problem:
        return result(SignatureStatus.INVALID, problem)
    trusted_der = {c.public_bytes(serialization.Encoding.DER) for c in trusted}
    while True:
        current = chain[-1]
        if current.public_bytes(serialization.Encoding.DER) in trusted_der:
            return result(SignatureStatus.SIGNED)
        root = next((t for t in trusted if _issued_by(current, t)), None)
        if root is not None:
            problem = _usable_as_ca(root, now)
            return result(SignatureStatus.INVALID, problem) if problem else result(SignatureStatus.SIGNED)
        if _issued_by(current, current):
            if len(chain) == 1:
                return result(SignatureStatus.SELF_SIGNED, "self-signed")
            return result(SignatureStatus.UNTRUSTED, f"its root '{_common_name(current)}' is not trusted")
        issuer = next((c for c in pool if c not in chain and _issued_by(current, c)), None)
        if issuer is None:
            return result(SignatureStatus.UNTRUSTED, f"no trusted issuer for '{_common_name(current)}'")
        problem = _usable_as_ca(issuer, now)
        if problem:
            return result(SignatureStatus.INVALID, problem)
        chain.append(issuer)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _within_dates(cert: x509.Certificate, now: datetime) -> str | None:
    if now < cert.not_valid_before_utc:
        return f"certificate '{_common_name(cert)}' is not valid before {cert.not_valid_before_utc:%Y-%m-%d}"
    if now > cert.not_valid_after_utc:
        return f"certificate '{_common_name(cert)}' expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    return None


def _usable_for_signing(cert: x509.Certificate, now: datetime) -> str | None:
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return _within_dates(cert, now)
    if (
        ExtendedKeyUsageOID.CODE_SIGNING not in usages
        and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages
    ):
        return f"certificate '{_common_name(cert)}' is not for code signing"
    return _within_dates(cert, now)


def _usable_as_ca(cert: x509.Certificate, now: datetime) -> str | None:
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        return f"certificate '{_common_name(cert)}' is not a certificate authority"
    return _within_dates(cert, now)


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else cert.subject.rfc4514_string()
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _describe(
    status: SignatureStatus,
    reason: str,
    signer: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    signing_time: datetime | None,
) -> SignatureResult:
    issuer_names = signer.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    issuer = issuer_names[0].value if issuer_names else signer.issuer.rfc4514_string()
    return SignatureResult(
        status=status,
        reason=reason,
        subject=signer.subject.rfc4514_string(),
        publisher=_common_name(signer),
        issuer=issuer if isinstance(issuer, str) else issuer.decode("utf-8", "replace"),
        fingerprint_sha256=signer.fingerprint(hashes.SHA256()).hex(),
        valid_from=signer.not_valid_before_utc,
        valid_to=signer.not_valid_after_utc,
        signing_time=signing_time,
        chain=chain,
    )


def _invalid(reason: str) -> SignatureResult:
    return SignatureResult(SignatureStatus.INVALID, reason)
