"""GitHub: signatures made by ``@octokit/webhooks-methods`` ``sign()`` in
node (installed by scripts/test.sh into .cache/node). If node or the package
is missing this FAILS: the acceptance bar is GitHub's own library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hookgate.receive import BadSignature, MissingHeader, verify

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / ".cache" / "node"
PACKAGE = NODE_DIR / "node_modules" / "@octokit" / "webhooks-methods"
SCRIPT = """
import { sign } from "@octokit/webhooks-methods";
const cases = JSON.parse(process.env.CASES);
const out = [];
for (const [secret, payload] of cases) out.push(await sign(secret, payload));
console.log(JSON.stringify(out));
"""
SECRET = "It's a Secret to Everybody"
PAYLOADS = ["Hello, World!", '{"action":"opened","issue":{"title":"naïve ✓"}}']


def _octokit_sign(cases: list[tuple[str, str]]) -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: GitHub signatures must come from @octokit (npm)")
    if not PACKAGE.is_dir():
        pytest.fail(
            f"@octokit/webhooks-methods is not installed in {NODE_DIR}: run scripts/test.sh "
            f"(or: npm install --prefix .cache/node @octokit/webhooks-methods@6.0.0)"
        )
    env = {**os.environ, "CASES": json.dumps(cases)}
    done = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"node failed ({done.returncode}): {done.stderr.strip()}")
    result: list[str] = json.loads(done.stdout)
    return result


def test_octokit_reproduces_githubs_published_example() -> None:
    [signature] = _octokit_sign([(SECRET, "Hello, World!")])
    assert signature == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_accepts_octokit_signatures() -> None:
    signatures = _octokit_sign([(SECRET, p) for p in PAYLOADS])
    for payload, signature in zip(PAYLOADS, signatures, strict=True):
        headers = {
            "X-Hub-Signature-256": signature,
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        }
        event = verify("github", payload.encode(), headers, ["old-secret", SECRET])
        assert (event.id, event.type) == ("72d3162e-cc78-11e3-81ab-4c9367dc0958", "issues")
        assert event.verified.secret_index == 1


def test_rejects_altered_octokit_requests() -> None:
    payload = PAYLOADS[1]
    [signature, wrong] = _octokit_sign([(SECRET, payload), ("another secret", payload)])
    body = payload.encode()
    with pytest.raises(BadSignature):
        verify(
            "github", body.replace(b"opened", b"closed"), {"X-Hub-Signature-256": signature}, SECRET
        )
    with pytest.raises(BadSignature):
        verify("github", body, {"X-Hub-Signature-256": wrong}, SECRET)
    with pytest.raises(MissingHeader, match="X-Hub-Signature-256"):
        verify("github", body, {"X-GitHub-Event": "issues"}, SECRET)
