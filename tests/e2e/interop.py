"""Other people's verifiers accept a token from the local stack, given only
our published keys: PyJWT (`PyJWKClient` reading the JWKS), Node's `jose`
(`createRemoteJWKSet` + `jwtVerify`, and `calculateJwkThumbprint` agreeing
with our `kid`) and `aws-jwt-verify` (what AWS recommends for Lambda
authorizers; it fetches over https only, so it is given the JWKS document
the others fetched). Each also refuses the same token with one character of its
signature changed, so a verifier that accepts anything would fail here.
The packages come from scripts/python-tools and scripts/node-tools."""

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PYJWT = r"""
import json, os, sys, jwt
client = jwt.PyJWKClient(os.environ["JWKS_URI"])
def verify(token):
    key = client.get_signing_key_from_jwt(token)
    return jwt.decode(token, key, algorithms=["ES256"], issuer=os.environ["ISSUER"],
                      audience=os.environ["AUDIENCE"], options={"require": ["exp", "iat", "sub"]})
claims = verify(os.environ["TOKEN"])
try:
    verify(os.environ["FORGED"])
    forged = "accepted"
except jwt.InvalidTokenError as e:
    forged = type(e).__name__
print(json.dumps({"sub": claims["sub"], "forged": forged}))
"""

JOSE = r"""
import { createRemoteJWKSet, jwtVerify, calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import { JwtVerifier } from 'aws-jwt-verify';
const { JWKS_URI, TOKEN, FORGED, ISSUER, AUDIENCE } = process.env;
const jwks = createRemoteJWKSet(new URL(JWKS_URI));
const options = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] };
const refused = async (verify) => { try { await verify(); return false; } catch { return true; } };
const { payload } = await jwtVerify(TOKEN, jwks, options);
const published = await (await fetch(JWKS_URI)).json();
const kid = decodeProtectedHeader(TOKEN).kid;
const key = published.keys.find((k) => k.kid === kid);
const thumbprint = await calculateJwkThumbprint(key, 'sha256');
// aws-jwt-verify fetches only over https: the local stack is http, so it is
// handed the same JWKS document, fetched above (cacheJwks), as it would
// fetch it from a deployed stack.
const aws = JwtVerifier.create({ issuer: ISSUER, audience: AUDIENCE, jwksUri: JWKS_URI });
aws.cacheJwks(published);
const awsPayload = await aws.verify(TOKEN);
console.log(JSON.stringify({
  sub: payload.sub,
  thumbprint_is_kid: thumbprint === kid,
  jose_refuses_forged: await refused(() => jwtVerify(FORGED, jwks, options)),
  aws_sub: awsPayload.sub,
  aws_refuses_forged: await refused(() => aws.verify(FORGED)),
}));
"""


def forge(token):
    """The token with its signature's first character changed."""
    head, sig = token.rsplit(".", 1)
    return f"{head}.{'B' if sig[0] != 'B' else 'C'}{sig[1:]}"


def run(stack, token, sub, expect):
    env = dict(os.environ, JWKS_URI=stack.base + "/.well-known/jwks.json", TOKEN=token,
               FORGED=forge(token), ISSUER=stack.base, AUDIENCE=stack.base)
    venv = subprocess.run([str(ROOT / "scripts" / "python-tools"), "pyjwt", "cryptography"],
                          check=True, capture_output=True, text=True).stdout.strip()
    py = subprocess.run([f"{venv}/python", "-c", PYJWT], env=env, capture_output=True, text=True, timeout=60)
    got = json.loads(py.stdout) if py.returncode == 0 else {"error": py.stderr[-500:]}
    expect(got.get("sub") == sub and got.get("forged") == "InvalidSignatureError",
           f"PyJWT's PyJWKClient verifies our ES256 token from the JWKS alone, refuses a forged one: {got}")

    modules = subprocess.run([str(ROOT / "scripts" / "node-tools")], check=True,
                             capture_output=True, text=True).stdout.strip()
    node = subprocess.run(["node", "--input-type=module", "-e", JOSE], env=env, cwd=Path(modules).parent,
                          capture_output=True, text=True, timeout=60)
    got = json.loads(node.stdout) if node.returncode == 0 else {"error": node.stderr[-800:]}
    expect(got.get("sub") == sub and got.get("jose_refuses_forged") is True,
           f"jose's createRemoteJWKSet + jwtVerify verify it and refuse a forged one: {got}")
    expect(got.get("thumbprint_is_kid") is True, "our kid is jose's RFC 7638 thumbprint of the published key")
    expect(got.get("aws_sub") == sub and got.get("aws_refuses_forged") is True,
           "aws-jwt-verify's JwtVerifier verifies it from the JWKS and refuses a forged one")
