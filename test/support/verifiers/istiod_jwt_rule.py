"""istiod's verification of a third-party JWT, as its source does it, with PyJWT for the JWT itself.

Usage: istiod_jwt_rule.py '<JWT_RULE>' <token> [<trust domain>]
       istiod_jwt_rule.py --unmarshal '<JWT_RULE>'
Prints one JSON line: {"ok": true, "identity": "spiffe://..."} or {"ok": false, "stage": ..., "error": ...};
with --unmarshal, only istiod's first stage (what initOIDC does at start): {"ok": true, "rule": {...}}.

What it follows (istio/istio):
- pilot/pkg/bootstrap: initOIDC json.Unmarshal()s JWT_RULE into ONE v1beta1.JWTRule (Go's encoding/json:
  an object, keys matched case-insensitively, unknown keys ignored, a wrong type is an error).
- security/pkg/server/ca/authenticate/oidc.go, NewJwtAuthenticator (coreos/go-oidc v3):
  jwks_uri set -> oidc.NewVerifier(issuer, NewRemoteKeySet(jwks_uri)) with no algorithms: RS256 only;
  no jwks_uri -> oidc.NewProvider(issuer): discovery at <issuer>/.well-known/openid-configuration, whose
  "issuer" must equal the configured one exactly; the algorithms are the discovery's
  id_token_signing_alg_values_supported that go-oidc supports.
- Verify: the iss must equal the issuer exactly; not expired; nbf with a minute of leeway; the kid's key.
- authenticate(): the claims are json.Unmarshal()ed into {Aud []string, Exp int, Iss, Sub string}, so a
  string "aud" is an error; sub must start with system:serviceaccount and have 4 parts; the audiences
  must overlap JWT_RULE's; the identity is spiffe://<trust domain>/ns/<ns>/sa/<sa>.
"""
import json
import sys
import urllib.request

import jwt

GO_OIDC_ALGS = {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}
JWT_RULE_FIELDS = {"issuer": str, "audiences": list, "jwks_uri": str, "jwks": str}


class Refused(Exception):
    def __init__(self, stage, error):
        super().__init__(error)
        self.stage = stage


def go_unmarshal_jwt_rule(raw):
    try:
        value = json.loads(raw)
    except ValueError as e:
        raise Refused("unmarshal", f"failed to unmarshal JWT rule: {e}")
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", bool: "bool"}.get(type(value), "number")
        raise Refused("unmarshal", f"failed to unmarshal JWT rule: json: cannot unmarshal {kind} into Go value of type v1beta1.JWTRule")
    rule = {}
    for key, field_value in value.items():
        field = next((f for f in JWT_RULE_FIELDS if f.lower() == key.lower()), None)
        if field is None:
            continue
        if field_value is None:
            continue
        if not isinstance(field_value, JWT_RULE_FIELDS[field]) or (field == "audiences" and not all(isinstance(a, str) for a in field_value)):
            raise Refused("unmarshal", f"failed to unmarshal JWT rule: json: cannot unmarshal into Go struct field JWTRule.{field}")
        rule[field] = field_value
    return rule


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as res:
        if res.status != 200:
            raise Refused("discovery", f"{url}: {res.status}")
        return json.loads(res.read())


def verifier_for(rule):
    issuer = rule.get("issuer", "")
    jwks_uri = rule.get("jwks_uri", "")
    if jwks_uri:
        return issuer, jwks_uri, ["RS256"]
    try:
        discovery = get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    except Refused:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of discovery stops istiod's authenticator
        raise Refused("discovery", f"failed at creating an OIDC provider for {issuer}: {e}")
    if discovery.get("issuer") != issuer:
        raise Refused("discovery", f"oidc: issuer did not match the issuer returned by provider, expected {issuer!r} got {discovery.get('issuer')!r}")
    algs = [a for a in discovery.get("id_token_signing_alg_values_supported", []) if a in GO_OIDC_ALGS] or ["RS256"]
    return issuer, discovery["jwks_uri"], algs


def verify(raw_rule, token, trust_domain):
    rule = go_unmarshal_jwt_rule(raw_rule)
    issuer, jwks_uri, algs = verifier_for(rule)
    header = jwt.get_unverified_header(token)
    if header.get("alg") not in algs:
        raise Refused("verify", f"oidc: id token signed with unsupported algorithm, expected {algs} got {header.get('alg')!r}")
    try:
        key = jwt.PyJWKClient(jwks_uri, cache_keys=False).get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key, algorithms=algs, leeway=60, options={"verify_aud": False, "verify_iss": False, "require": ["exp"]})
    except jwt.PyJWTError as e:
        raise Refused("verify", f"failed to verify the JWT token (error {e})")
    if claims.get("iss") != issuer:
        raise Refused("verify", f"oidc: id token issued by a different provider, expected {issuer!r} got {claims.get('iss')!r}")
    aud = claims.get("aud")
    if aud is not None and not (isinstance(aud, list) and all(isinstance(a, str) for a in aud)):
        raise Refused("claims", "failed to extract claims from ID token: json: cannot unmarshal into Go struct field JwtPayload.aud of type []string")
    sub = claims.get("sub", "")
    if not isinstance(sub, str) or not sub.startswith("system:serviceaccount"):
        raise Refused("claims", f"invalid sub {sub}")
    parts = sub.split(":")
    if len(parts) < 4:
        raise Refused("claims", f"invalid sub {sub} (istiod would index out of range)")
    if not set(aud or []) & set(rule.get("audiences") or []):
        raise Refused("claims", f"invalid audiences {aud}")
    return f"spiffe://{trust_domain}/ns/{parts[2]}/sa/{parts[3]}"


def main():
    if sys.argv[1] == "--unmarshal":
        try:
            print(json.dumps({"ok": True, "rule": go_unmarshal_jwt_rule(sys.argv[2])}))
        except Refused as e:
            print(json.dumps({"ok": False, "stage": e.stage, "error": str(e)}))
        return
    raw_rule, token = sys.argv[1], sys.argv[2]
    trust_domain = sys.argv[3] if len(sys.argv) > 3 else "cluster.local"
    try:
        print(json.dumps({"ok": True, "identity": verify(raw_rule, token, trust_domain)}))
    except Refused as e:
        print(json.dumps({"ok": False, "stage": e.stage, "error": str(e)}))


if __name__ == "__main__":
    main()
