#!/usr/bin/env python3
"""Verifies a waitroom admission token the way a checkout written in Python would: with PyJWT,
fetching the public key from waitroom's live JWKS by the token's `kid`.

usage: verify_admission.py JWKS_URL TOKEN SUBJECT EVENT

Prints the verified claims as JSON and exits 0, or prints the reason and exits 1.
"""

import json
import sys

import jwt
from jwt import PyJWKClient


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    jwks_url, token, subject, event = sys.argv[1:]
    try:
        signing_key = PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            signing_key.key,
            algorithms=["EdDSA"],  # pinned: never taken from the token
            audience="checkout",
            issuer="waitroom",
            options={"require": ["iss", "aud", "sub", "exp", "nbf", "iat", "jti"]},
        )
    except jwt.PyJWTError as error:
        print(f"refused: {type(error).__name__}: {error}")
        return 1
    if claims["sub"] != subject:
        print(f"refused: the token belongs to {claims['sub']}, not {subject}")
        return 1
    if claims.get("evt") != event:
        print(f"refused: the token is for event {claims.get('evt')}, not {event}")
        return 1
    print(json.dumps(claims, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
