"""Realistic sample events, shaped like each provider's documented payloads.

Every function takes a ``Context`` (a clock and fresh identifiers) so each
send carries new ids and current timestamps, as real deliveries do.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]


@dataclass
class Context:
    """The moment of sending and the identifiers of one delivery."""

    now: int
    delivery_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def iso(self) -> str:
        return datetime.fromtimestamp(self.now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @staticmethod
    def token(prefix: str, length: int = 24) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


# --- GitHub -----------------------------------------------------------------

_REPO: Json = {
    "id": 1296269,
    "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
    "name": "Hello-World",
    "full_name": "octocat/Hello-World",
    "private": False,
    "owner": {"login": "octocat", "id": 1, "type": "User", "site_admin": False},
    "html_url": "https://github.com/octocat/Hello-World",
    "description": "This your first repo!",
    "fork": False,
    "url": "https://api.github.com/repos/octocat/Hello-World",
    "default_branch": "main",
}
_SENDER: Json = {"login": "octocat", "id": 1, "type": "User", "site_admin": False}


def github_ping(ctx: Context) -> Json:
    return {
        "zen": "Keep it logically awesome.",
        "hook_id": 109948940,
        "hook": {
            "type": "Repository",
            "id": 109948940,
            "name": "web",
            "active": True,
            "events": ["push", "pull_request"],
            "config": {"content_type": "json", "insecure_ssl": "0", "url": "https://example.com"},
            "created_at": ctx.iso(),
            "updated_at": ctx.iso(),
        },
        "repository": _REPO,
        "sender": _SENDER,
    }


def github_push(ctx: Context) -> Json:
    after = secrets.token_hex(20)
    commit = {
        "id": after,
        "tree_id": secrets.token_hex(20),
        "distinct": True,
        "message": "Fix the greeting (naïve → correct ✓)",
        "timestamp": ctx.iso(),
        "url": f"https://github.com/octocat/Hello-World/commit/{after}",
        "author": {"name": "The Octocat", "email": "octocat@github.com"},
        "committer": {"name": "GitHub", "email": "noreply@github.com"},
        "added": [],
        "removed": [],
        "modified": ["README.md"],
    }
    return {
        "ref": "refs/heads/main",
        "before": secrets.token_hex(20),
        "after": after,
        "created": False,
        "deleted": False,
        "forced": False,
        "compare": f"https://github.com/octocat/Hello-World/compare/{after[:12]}",
        "commits": [commit],
        "head_commit": commit,
        "pusher": {"name": "octocat", "email": "octocat@github.com"},
        "repository": _REPO,
        "sender": _SENDER,
    }


def github_pull_request(ctx: Context) -> Json:
    return {
        "action": "opened",
        "number": 1347,
        "pull_request": {
            "url": "https://api.github.com/repos/octocat/Hello-World/pulls/1347",
            "id": 1,
            "number": 1347,
            "state": "open",
            "locked": False,
            "title": "Amazing new feature",
            "user": _SENDER,
            "body": "Please pull these awesome changes in!",
            "created_at": ctx.iso(),
            "updated_at": ctx.iso(),
            "draft": False,
            "head": {
                "label": "octocat:new-topic",
                "ref": "new-topic",
                "sha": secrets.token_hex(20),
            },
            "base": {"label": "octocat:main", "ref": "main", "sha": secrets.token_hex(20)},
            "merged": False,
            "commits": 1,
            "additions": 100,
            "deletions": 3,
            "changed_files": 5,
        },
        "repository": _REPO,
        "sender": _SENDER,
    }


# --- Slack ------------------------------------------------------------------


def slack_url_verification(ctx: Context) -> Json:
    return {
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "challenge": ctx.token("", 48),
        "type": "url_verification",
    }


def slack_event_callback(ctx: Context) -> Json:
    return {
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "team_id": "T061EG9R6",
        "api_app_id": "A0PNCHHK2",
        "event": {
            "type": "app_mention",
            "user": "U061F7AUR",
            "text": "<@U0LAN0Z89> is it everything a river should be?",
            "ts": f"{ctx.now}.000200",
            "channel": "C0LAN2Q65",
            "event_ts": f"{ctx.now}.000200",
        },
        "type": "event_callback",
        "event_id": ctx.token("Ev", 10).upper(),
        "event_time": ctx.now,
        "authorizations": [{"team_id": "T061EG9R6", "user_id": "U0LAN0Z89", "is_bot": True}],
    }


# --- Twilio (form parameters) ----------------------------------------------


def twilio_sms_status(ctx: Context) -> dict[str, str]:
    sid = ctx.token("SM", 32)
    return {
        "AccountSid": "AC" + secrets.token_hex(16),
        "ApiVersion": "2010-04-01",
        "From": "+15017122661",
        "MessageSid": sid,
        "MessageStatus": "delivered",
        "MessagingServiceSid": "MG" + secrets.token_hex(16),
        "SmsSid": sid,
        "SmsStatus": "delivered",
        "To": "+15558675310",
    }


def twilio_sms_incoming(ctx: Context) -> dict[str, str]:
    sid = ctx.token("SM", 32)
    return {
        "AccountSid": "AC" + secrets.token_hex(16),
        "ApiVersion": "2010-04-01",
        "Body": "Hello from Hookgate ✓",
        "From": "+15558675310",
        "FromCity": "SAN FRANCISCO",
        "FromCountry": "US",
        "FromState": "CA",
        "FromZip": "94105",
        "MessageSid": sid,
        "MessagingServiceSid": "MG" + secrets.token_hex(16),
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": "+15017122661",
        "ToCountry": "US",
    }


# --- GitLab -----------------------------------------------------------------

_GITLAB_PROJECT: Json = {
    "id": 15,
    "name": "Diaspora",
    "path_with_namespace": "mike/diaspora",
    "web_url": "http://example.com/mike/diaspora",
    "default_branch": "master",
}


def gitlab_push(ctx: Context) -> Json:
    after = secrets.token_hex(20)
    return {
        "object_kind": "push",
        "event_name": "push",
        "before": secrets.token_hex(20),
        "after": after,
        "ref": "refs/heads/master",
        "user_id": 4,
        "user_name": "John Smith",
        "user_username": "jsmith",
        "project_id": 15,
        "project": _GITLAB_PROJECT,
        "commits": [
            {
                "id": after,
                "message": "Update Catalan translation to e38cb41.",
                "timestamp": ctx.iso(),
                "author": {"name": "Jordi Mallach", "email": "jordi@softcatala.org"},
                "added": ["CHANGELOG"],
                "modified": ["app/controller/application.rb"],
                "removed": [],
            }
        ],
        "total_commits_count": 1,
    }


def gitlab_merge_request(ctx: Context) -> Json:
    return {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": {"id": 1, "name": "Administrator", "username": "root"},
        "project": _GITLAB_PROJECT,
        "object_attributes": {
            "id": 99,
            "iid": 1,
            "title": "MS-Viewport",
            "state": "opened",
            "action": "open",
            "source_branch": "ms-viewport",
            "target_branch": "master",
            "created_at": ctx.iso(),
            "url": "http://example.com/mike/diaspora/merge_requests/1",
        },
    }


# --- Standard Webhooks / Svix -------------------------------------------------


def standard_user_created(ctx: Context) -> Json:
    return {
        "type": "user.created",
        "timestamp": ctx.iso(),
        "data": {"id": ctx.token("user_"), "email": "ada@example.com", "name": "Ada Lovelace"},
    }


def standard_invoice_paid(ctx: Context) -> Json:
    return {
        "type": "invoice.paid",
        "timestamp": ctx.iso(),
        "data": {"id": ctx.token("inv_"), "amountCents": 4200, "currency": "EUR"},
    }
