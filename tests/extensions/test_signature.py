"""Signature blocks: self-signed, chain-signed, tampered, and look-alikes that are not signatures."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from tether.extensions.bundle import open_bundle
from tether.extensions.der import read_one
from tether.extensions.signature import (
    SignatureStatus,
    sign_bundle,
    signature_block,
    split_signature,
    verify_signature,
)

from .bundle_samples import Identity, bundle_bytes, ec_key, file, make_identity, make_zip


@pytest.fixture(scope="module")
def root() -> Identity:
    return make_identity("Test Root CA", is_ca=True)


@pytest.fixture(scope="module")
def intermediate(root: Identity) -> Identity:
    return make_identity("Test Intermediate CA", issuer=root, is_ca=True)


@pytest.fixture(scope="module")
def publisher(intermediate: Identity) -> Identity:
    return make_identity("Acme Publisher", issuer=intermediate)


@pytest.fixture(scope="module")
def self_signed() -> Identity:
    return make_identity("MCPB Self-Signed Certificate")


def test_an_unsigned_bundle_is_unsigned() -> None:
    result = verify_signature(bundle_bytes())
    assert result.status is SignatureStatus.UNSIGNED
    assert str(result) == "unsigned"


def test_a_self_signed_bundle_is_valid_but_not_trusted(self_signed: Identity) -> None:
    signed = sign_bundle(bundle_bytes(), self_signed.cert, self_signed.key)
    result = verify_signature(signed)
    assert result.status is SignatureStatus.SELF_SIGNED
    assert result.is_signature_valid
    assert str(result) == "self-signed by MCPB Self-Signed Certificate (valid signature, not trusted)"
    assert result.signing_time is not None
    assert verify_signature(signed, trusted_roots=[self_signed.cert]).status is SignatureStatus.SIGNED


def test_a_chain_signed_bundle_is_signed_by_its_publisher(
    root: Identity, intermediate: Identity, publisher: Identity
) -> None:
    signed = sign_bundle(bundle_bytes(), publisher.cert, publisher.key, [intermediate.cert])
    result = verify_signature(signed, trusted_roots=[root.cert])
    assert result.status is SignatureStatus.SIGNED
    assert str(result) == "signed by Acme Publisher"
    assert result.issuer == "Test Intermediate CA"
    assert [c.subject for c in result.chain] == [publisher.cert.subject, intermediate.cert.subject]
    assert result.fingerprint_sha256 is not None
    assert len(result.fingerprint_sha256) == 64


def test_a_chain_to_an_unknown_root_is_untrusted(intermediate: Identity, publisher: Identity) -> None:
    signed = sign_bundle(bundle_bytes(), publisher.cert, publisher.key, [intermediate.cert])
    result = verify_signature(signed)
    assert result.status is SignatureStatus.UNTRUSTED
    assert result.is_signature_valid
    assert "Test Intermediate CA" in result.reason


def test_a_tampered_bundle_is_invalid(self_signed: Identity) -> None:
    signed = bytearray(sign_bundle(bundle_bytes(), self_signed.cert, self_signed.key))
    signed[40] ^= 0x01
    result = verify_signature(bytes(signed))
    assert result.status is SignatureStatus.INVALID
    assert result.reason == "the bundle was changed after it was signed"
    assert str(result).startswith("invalid signature (")


def test_a_tampered_signature_is_invalid(self_signed: Identity) -> None:
    signed = bytearray(sign_bundle(bundle_bytes(), self_signed.cert, self_signed.key))
    signed[-len(b"MCPB_SIG_END") - 5] ^= 0x01  # inside the RSA signature value, the last field
    result = verify_signature(bytes(signed))
    assert result.status is SignatureStatus.INVALID
    assert result.reason == "the signature does not match the signer's certificate"


def test_a_signature_by_another_key_is_invalid(self_signed: Identity, publisher: Identity) -> None:
    signed = sign_bundle(bundle_bytes(), self_signed.cert, publisher.key)
    assert verify_signature(signed).status is SignatureStatus.INVALID


def test_ecdsa_signers_verify(root: Identity) -> None:
    signer = make_identity("EC Publisher", issuer=root, key=ec_key())
    signed = sign_bundle(bundle_bytes(), signer.cert, signer.key)
    assert verify_signature(signed, trusted_roots=[root.cert]).status is SignatureStatus.SIGNED


def test_expired_and_future_certificates_are_invalid(self_signed: Identity) -> None:
    signed = sign_bundle(bundle_bytes(), self_signed.cert, self_signed.key)
    later = verify_signature(signed, now=datetime.now(UTC) + timedelta(days=400))
    assert later.status is SignatureStatus.INVALID
    assert "expired" in later.reason
    earlier = verify_signature(signed, now=datetime.now(UTC) - timedelta(days=30))
    assert earlier.status is SignatureStatus.INVALID
    assert "not valid before" in earlier.reason


def test_a_certificate_not_meant_for_code_signing_is_invalid(root: Identity) -> None:
    web = make_identity("www.example.com", issuer=root, usages=(ExtendedKeyUsageOID.SERVER_AUTH,))
    signed = sign_bundle(bundle_bytes(), web.cert, web.key)
    result = verify_signature(signed, trusted_roots=[root.cert])
    assert result.status is SignatureStatus.INVALID
    assert "not for code signing" in result.reason


def test_an_issuer_that_is_not_a_ca_breaks_the_chain(root: Identity) -> None:
    impostor = make_identity("Not A CA", issuer=root, usages=None)
    leaf = make_identity("Leaf", issuer=impostor)
    signed = sign_bundle(bundle_bytes(), leaf.cert, leaf.key, [impostor.cert])
    result = verify_signature(signed, trusted_roots=[root.cert])
    assert result.status is SignatureStatus.INVALID
    assert "not a certificate authority" in result.reason


def test_marker_bytes_inside_the_zip_are_not_a_signature() -> None:
    fake = b"MCPB_SIG_V1" + struct.pack("<I", 4) + b"junk" + b"MCPB_SIG_END"
    data = bundle_bytes(None, file("notes/fake-signature.bin", fake))
    assert verify_signature(data).status is SignatureStatus.UNSIGNED
    assert open_bundle(data).signature_block is None
    stored = make_zip([file("manifest.json", "{}"), file("sig.txt", fake)])
    assert split_signature(stored) == (stored, None)


def test_a_trailing_marker_that_does_not_parse_exactly_is_not_a_signature() -> None:
    wrong_length = b"MCPB_SIG_V1" + struct.pack("<I", 99) + b"junk" + b"MCPB_SIG_END"
    data = make_zip([file("a.txt", "a")], comment=wrong_length)
    assert split_signature(data) == (data, None)


def test_a_well_framed_block_with_garbage_inside_is_invalid() -> None:
    data = bundle_bytes() + signature_block(b"\x30\x03\x02\x01\x01")
    result = verify_signature(data)
    assert result.status is SignatureStatus.INVALID
    assert result.reason.startswith("malformed signature block")


def test_old_dxt_markers_are_understood(self_signed: Identity) -> None:
    signed = sign_bundle(bundle_bytes(), self_signed.cert, self_signed.key)
    zip_bytes, block = split_signature(signed)
    assert block is not None
    legacy = (
        zip_bytes + b"DXT_SIG_V1" + struct.pack("<I", len(block.pkcs7_der)) + block.pkcs7_der + b"DXT_SIG_END"
    )
    assert verify_signature(legacy).status is SignatureStatus.SELF_SIGNED


def test_signing_again_replaces_the_block(self_signed: Identity, publisher: Identity) -> None:
    once = sign_bundle(bundle_bytes(), self_signed.cert, self_signed.key)
    twice = sign_bundle(once, publisher.cert, publisher.key)
    assert twice.count(b"MCPB_SIG_END") == 1
    assert verify_signature(twice).publisher == "Acme Publisher"


def test_the_block_holds_detached_der_pkcs7(self_signed: Identity) -> None:
    unsigned = bundle_bytes()
    zip_bytes, block = split_signature(sign_bundle(unsigned, self_signed.cert, self_signed.key))
    assert zip_bytes == unsigned
    assert block is not None
    assert block.header == b"MCPB_SIG_V1"
    assert unsigned not in block.pkcs7_der
    read_one(block.pkcs7_der)  # exactly one DER value, nothing trailing


def test_a_signed_bundle_opens_and_reports_its_signature(self_signed: Identity) -> None:
    bundle = open_bundle(sign_bundle(bundle_bytes(), self_signed.cert, self_signed.key))
    assert bundle.signature_block is not None
    assert bundle.verify_signature().status is SignatureStatus.SELF_SIGNED
