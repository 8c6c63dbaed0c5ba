"""Mints user JWTs (HS256, `sub` = u<n>, an hour of validity) for the join storm, one a line.

python3 tokens.py SECRET COUNT > tokens.txt
"""
import base64
import hashlib
import hmac
import json
import sys
import time


def b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def main() -> None:
    secret = sys.argv[1].encode()
    count = int(sys.argv[2])
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    exp = int(time.time()) + 3600
    out = sys.stdout.buffer
    for n in range(count):
        claims = json.dumps({"sub": f"u{n:09d}", "exp": exp}, separators=(",", ":")).encode()
        signing_input = header + b"." + b64(claims)
        signature = b64(hmac.new(secret, signing_input, hashlib.sha256).digest())
        out.write(signing_input + b"." + signature + b"\n")


if __name__ == "__main__":
    main()
