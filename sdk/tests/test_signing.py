"""Known answers for the v1 canonical request and signature (SIGNING_SPEC.md)."""
import hashlib
import hmac
import re

import pytest

from hospital_sdk.signing import (body_sha256, canonical_query, canonical_request, new_nonce,
                                  normalize_query, sign, sign_path_url, signature)

SECRET = "hs_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
NONCE = "abcdefghijklmnop0123456789_-ABCD"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# ---- fixed vectors, written out (computed outside Python with printf | openssl dgst) ----------

def test_fixed_vector_post_with_query_and_body():
    canonical = canonical_request("post", "/open/v1/schedules:batch",
                                  [("b", "2"), ("a", "1 2"), ("a", "é")], "1700000000", NONCE,
                                  b'{"items":[]}')
    assert canonical == (
        "POST\n"
        "/open/v1/schedules:batch\n"
        "a=%C3%A9&a=1%202&b=2\n"
        "1700000000\n"
        "abcdefghijklmnop0123456789_-ABCD\n"
        "eef46741adfc3a9f76294d3b78f37a45f113092ac9d44ee77c7a038a88ff09a1")
    assert signature(SECRET, canonical) == (
        "v1=282b97b2f2522840dbd65e300aa14afe76223a933de68c556604586979339278")


def test_fixed_vector_get_without_query_or_body():
    headers = sign(SECRET, "GET", "/open/v1/registrations/changes", None, 1700000000, NONCE,
                   b"", key_id="hk_0123456789abcdef01234567")
    assert headers == {
        "X-Hospital-Key": "hk_0123456789abcdef01234567",
        "X-Timestamp": "1700000000",
        "X-Nonce": NONCE,
        "X-Signature": "v1=a5472cc51f33abaf452c12cc5e48b7c2d524f6b6d8473615781dc85956c829ac",
    }


# ---- the same computed independently with hmac/hashlib --------------------------------------

def independent(secret, lines):
    return "v1=" + hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("body", [b"", b"{}", '{"name":"内科"}'.encode(), bytes(range(256))])
def test_signature_matches_an_independent_hmac(body):
    headers = sign(SECRET, "POST", "/open/v1/departments:batch", [("x", "y")], "1712345678",
                   NONCE, body)
    assert headers["X-Signature"] == independent(SECRET, [
        "POST", "/open/v1/departments:batch", "x=y", "1712345678", NONCE,
        hashlib.sha256(body).hexdigest()])
    assert re.fullmatch(r"v1=[0-9a-f]{64}", headers["X-Signature"])
    assert "X-Hospital-Key" not in headers


def test_secret_as_str_or_bytes_is_the_same_key():
    canonical = canonical_request("GET", "/p", None, "1", NONCE, b"")
    assert signature(SECRET, canonical) == signature(SECRET.encode(), canonical)
    assert signature(SECRET, canonical) != signature(SECRET + "x", canonical)


def test_every_part_changes_the_signature():
    base = dict(method="POST", path="/open/v1/doctors:batch", query_pairs=[("a", "1")],
                timestamp="1700000000", nonce=NONCE, body=b"{}")
    reference = sign(SECRET, **base)["X-Signature"]
    for name, other in [("method", "PUT"), ("path", "/open/v1/doctors:batcH"),
                        ("query_pairs", [("a", "2")]), ("timestamp", "1700000001"),
                        ("nonce", NONCE[:-1] + "E"), ("body", b"{ }")]:
        assert sign(SECRET, **{**base, name: other})["X-Signature"] != reference, name


# ---- query canonicalisation -------------------------------------------------------------------

def test_empty_query_is_an_empty_line():
    for empty in (None, [], {}, ""):
        assert canonical_query(empty) == ""
    canonical = canonical_request("GET", "/open/v1/x", None, "1", NONCE, None)
    assert canonical.split("\n") == ["GET", "/open/v1/x", "", "1", NONCE, EMPTY_SHA256]


def test_empty_body_hashes_empty_bytes():
    assert body_sha256(b"") == body_sha256(None) == EMPTY_SHA256


def test_pairs_sorted_by_key_then_value():
    assert canonical_query([("limit", "100"), ("cursor", "b"), ("a", "z")]) == \
        "a=z&cursor=b&limit=100"
    # plain ASCII order of the encoded text: upper case before lower case
    assert canonical_query([("b", "1"), ("B", "1"), ("a", "1")]) == "B=1&a=1&b=1"


def test_repeated_keys_keep_every_value_sorted_by_value():
    assert canonical_query([("id", "3"), ("id", "1"), ("id", "2"), ("id", "1")]) == \
        "id=1&id=1&id=2&id=3"
    assert canonical_query({"id": ["b", "a"], "x": "1"}) == "id=a&id=b&x=1"


def test_unicode_is_utf8_percent_encoded_and_sorted_encoded():
    assert canonical_query([("name", "内科")]) == "name=%E5%86%85%E7%A7%91"
    # sorting is on the encoded strings: "%C3%A9" (é) sorts before "z"
    assert canonical_query([("k", "z"), ("k", "é")]) == "k=%C3%A9&k=z"


def test_reserved_characters_are_encoded_unreserved_kept():
    pairs = [("q", "a b&c=d/e+f?g#h:i@j,k;l%m"), ("t", "-_.~"), ("e", "")]
    assert canonical_query(pairs) == (
        "e=&q=a%20b%26c%3Dd%2Fe%2Bf%3Fg%23h%3Ai%40j%2Ck%3Bl%25m&t=-_.~")


def test_raw_query_strings_are_decoded_first():
    # as a server sees the wire: "+" is a space, %XX decoded, blank values kept
    assert normalize_query("b=2&a=x+y&a=%E5%86%85&flag") == [
        ("b", "2"), ("a", "x y"), ("a", "内"), ("flag", "")]
    assert canonical_query("b=2&a=x+y&a=%e5%86%85&flag") == "a=%E5%86%85&a=x%20y&b=2&flag="


def test_mapping_values_are_text():
    assert canonical_query({"limit": 100, "on": True, "skip": None}) == "limit=100&on=true"


def test_path_with_query_is_refused_and_method_upper_cased():
    with pytest.raises(ValueError):
        canonical_request("GET", "/p?a=1", None, "1", NONCE, b"")
    assert canonical_request("get", "/p", None, "1", NONCE, b"").startswith("GET\n")
    with pytest.raises(TypeError):
        canonical_request("POST", "/p", None, "1", NONCE, "{}")


def test_sign_path_url_splits_the_request_target():
    headers = sign_path_url("hk_1", SECRET, "GET", "/open/v1/registrations/changes?limit=5&cursor=a",
                            None, now=1700000000.9, nonce=NONCE)
    assert headers["X-Timestamp"] == "1700000000"
    assert headers["X-Signature"] == independent(SECRET, [
        "GET", "/open/v1/registrations/changes", "cursor=a&limit=5", "1700000000", NONCE,
        EMPTY_SHA256])


# ---- nonce ------------------------------------------------------------------------------------

def test_nonces_are_fresh_and_in_the_allowed_alphabet():
    nonces = [new_nonce() for _ in range(2000)]
    assert len(set(nonces)) == len(nonces)
    for nonce in nonces:
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", nonce)


@pytest.mark.parametrize("bad", ["short", "x" * 65, "abcdefghijklmnop!", "abcdefghijklmnop=="])
def test_sign_refuses_a_nonce_outside_the_spec(bad):
    with pytest.raises(ValueError):
        sign(SECRET, "GET", "/p", None, 1, bad, b"")
