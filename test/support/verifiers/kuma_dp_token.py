"""Kuma's verification of a data-plane token, with PyJWT, a verifier that is not ours.

Reads one JSON request on stdin and prints one JSON answer {"ok": bool, "error"?: str, "claims"?: {}}.
(istiod's rules are in istiod_jwt_rule.py, next to this one.)

Kuma's data-plane token validation (pkg/core/tokens/validator.go and
  pkg/xds/auth/universal/authenticator.go): a string `kid` header is required; only RS256; the
  key is looked up by kid among the CP config's static public keys for the data plane's mesh and
  the mesh-less ones ("signing key not found" otherwise); golang-jwt v5's default claim checks
  (exp and nbf when present, iat not checked, no iss or aud option); then, only for the claims
  that are set: Name equals the data plane's name, Mesh its mesh, every Tags key is a label of the
  data plane with an allowed value, Workload equals its kuma.io/workload label. An unbound token on
  a data plane labelled kuma.io/workload is refused when its MeshIdentity derives from that label.
  request: {"token", "publicKeys": [{"kid", "key": PEM, "mesh"?}],
            "dataplane": {"name", "mesh", "labels": {}}, "identityFromWorkloadLabel": bool}
"""
import json
import sys

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

KUMA_WORKLOAD = "kuma.io/workload"


def kuma(request):
    token = request["token"]
    header = jwt.get_unverified_header(token)
    if "kid" not in header:
        raise ValueError("JWT token must have kid header")
    kid = header["kid"]
    if not isinstance(kid, str):
        raise ValueError("JWT token kid header must be a string")
    if header.get("alg") != "RS256":
        raise ValueError(f"unsupported token alg {header.get('alg')}. Allowed algorithm is RS256")
    dataplane = request["dataplane"]
    keys = {k["kid"]: k["key"] for k in request["publicKeys"] if k.get("mesh", "") in ("", dataplane["mesh"])}
    if kid not in keys:
        raise ValueError(f"there is no signing key with KID {kid}")
    claims = jwt.decode(
        token, load_pem_public_key(keys[kid].encode()), algorithms=["RS256"],
        options={"verify_aud": False, "verify_iss": False, "verify_iat": False, "require": []},
    )
    name, mesh, tags, workload = claims.get("Name", ""), claims.get("Mesh", ""), claims.get("Tags") or {}, claims.get("Workload", "")
    if name and dataplane["name"] != name:
        raise ValueError(f"proxy name from requestor: {dataplane['name']} is different than in token: {name}")
    if mesh and dataplane["mesh"] != mesh:
        raise ValueError(f"proxy mesh from requestor: {dataplane['mesh']} is different than in token: {mesh}")
    labels = dataplane.get("labels", {})
    for tag, allowed in tags.items():
        if tag not in labels:
            raise ValueError(f'dataplane has no tag "{tag}" required by the token')
        if labels[tag] not in allowed:
            raise ValueError(f'dataplane contains tag "{tag}" with value "{labels[tag]}" which is not allowed with this token')
    if not workload:
        if KUMA_WORKLOAD in labels and request.get("identityFromWorkloadLabel"):
            raise ValueError(f'dataplane with "{KUMA_WORKLOAD}" label "{labels[KUMA_WORKLOAD]}" derives its identity from the workload, so it requires a workload-bound token')
    elif KUMA_WORKLOAD not in labels:
        raise ValueError("dataplane has no workload label required by the token")
    elif labels[KUMA_WORKLOAD] != workload:
        raise ValueError(f'dataplane workload "{labels[KUMA_WORKLOAD]}" is not allowed with this token. Allowed workload in token is "{workload}"')
    return claims


def main():
    request = json.load(sys.stdin)
    try:
        claims = kuma(request)
        print(json.dumps({"ok": True, "claims": claims}))
    except Exception as error:  # every refusal is an answer, not a crash
        print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))


if __name__ == "__main__":
    main()
