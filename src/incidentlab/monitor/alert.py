"""The report as an alert: Markdown for a CI comment, and a Slack-compatible webhook payload."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from incidentlab.errors import IncidentLabError
from incidentlab.monitor import remediation as drafted
from incidentlab.monitor.finding import VERDICTS

ICONS = {"ok": "✅", "skip": "➖", "warn": "⚠️", "error": "❗", "fail": "❌"}


def markdown(report) -> str:
    """The report as Markdown: a heading with the verdict, a table per check (worst first), the draft as code."""
    lines = [f"### incidentlab monitor: {ICONS[report.verdict]} {report.verdict.upper()} "
             f"({report.now:%Y-%m-%d %H:%M})", "",
             "| check | subject | verdict | finding |", "| --- | --- | --- | --- |"]
    for f in sorted(report.findings, key=lambda f: -VERDICTS.index(f.verdict)):
        message = f.message.replace("|", "\\|")
        lines.append(f"| {f.check} | {f.subject} | {ICONS[f.verdict]} {f.verdict} | {message} |")
    draft = drafted.render(report.remediation)
    if draft:
        lines += ["", "<details><summary>Drafted remediation</summary>", "", "```", *draft[1:], "```", "", "</details>"]
    return "\n".join(lines)


def slack_payload(report) -> dict:
    """A Slack incoming-webhook payload: ``text`` (the fallback line) and Block Kit blocks, problems first."""
    problems = [f for f in report.findings if f.verdict in ("fail", "warn", "error")]
    problems.sort(key=lambda f: -VERDICTS.index(f.verdict))
    text = (f"incidentlab monitor: {report.verdict.upper()}, {len(problems)} finding(s) to look at"
            if problems else "incidentlab monitor: OK, nothing to look at")
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": text[:150]}}]
    body = "\n".join(f"{ICONS[f.verdict]} *{f.check}* {f.message}" for f in problems[:20])
    if body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}})
    draft = drafted.render(report.remediation)
    if draft:
        code = "```" + "\n".join(draft[1:])[:2800] + "```"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": code}})
    return {"text": text, "blocks": blocks}


def post_webhook(url: str, payload: dict, timeout: float = 10.0) -> None:
    """POST ``payload`` as JSON to ``url``; a refused or failed post is one plain line."""
    if not url.startswith(("http://", "https://")):
        raise IncidentLabError(f"--webhook {url!r} is not an http(s) URL.")
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise IncidentLabError(f"the webhook answered {exc.code} {exc.reason}; the alert was not delivered.") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise IncidentLabError(f"the webhook could not be reached ({reason}); the alert was not delivered.") from None
