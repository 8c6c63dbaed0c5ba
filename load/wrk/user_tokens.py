"""Writes user JWTs (HS256, one per line) for load runs: python3 user_tokens.py SECRET COUNT FILE.

The server verifies them with WAITROOM_USER_JWT_SECRET=SECRET; each names a different user, so
each join is a new identity.
"""
import base64
import hashlib
import hmac
import json
import sys
import time


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> None:
    secret, count, path = sys.argv[1].encode(), int(sys.argv[2]), sys.argv[3]
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    exp = int(time.time()) + 24 * 3600
    with open(path, "w") as out:
        for n in range(count):
            claims = b64(json.dumps({"sub": f"load-user-{n}", "exp": exp}).encode())
            signing_input = f"{header}.{claims}".encode()
            signature = b64(hmac.new(secret, signing_input, hashlib.sha256).digest())
            out.write(f"{header}.{claims}.{signature}\n")


if __name__ == "__main__":
    main()
