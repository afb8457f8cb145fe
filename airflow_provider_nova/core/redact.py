"""Keep credentials out of log lines and error messages.

botocore logs each request at DEBUG with its ``Authorization`` and ``X-Amz-Security-Token`` headers,
its canonical request and signature, and each response body (an STS answer holds a secret key and a
session token); a presigned URL (an EKS token is one, base64-encoded behind ``k8s-aws-v1.``) carries
its credential and signature in the query. ``redact`` blanks all of these; ``install_log_redaction``
puts a filter doing it on the loggers that write them, once per process.
"""

from __future__ import annotations

import logging
import re
import threading

REDACTED = "[redacted]"
_PATTERNS = (
    re.compile(r"k8s-aws-v1\.[A-Za-z0-9_\-=]+"),
    re.compile(r"X-Amz-(?:Signature|Credential|Security-Token)=[^&\s'\"]*", re.IGNORECASE),
    # headers as botocore shows them ('Authorization': b'...') or as text (authorization: ...)
    re.compile(r"((?:authorization|x-amz-security-token)['\"]?\s*[:=]\s*b?['\"]?)[^'\"\n]+", re.IGNORECASE),
    # STS answers, XML or JSON
    re.compile(r"(<(SecretAccessKey|SessionToken)>)[^<]*(</\2>)"),
    re.compile(r"(['\"](?:SecretAccessKey|SessionToken|secretAccessKey|sessionToken)['\"]\s*:\s*['\"])[^'\"]*"),
)
# DEBUG records that are nothing but signing material (canonical request, string to sign, signature).
_SIGNING_LOGGERS = ("botocore.auth",)
LEAKY_LOGGERS = (
    "botocore.endpoint",
    "botocore.auth",
    "botocore.parsers",
    "botocore.awsrequest",
    "botocore.httpsession",
    "botocore.retryhandler",
    "botocore.credentials",
    "urllib3.connectionpool",
    "kubernetes.client.rest",
)
_installed = False
_lock = threading.Lock()


def redact(text: str) -> str:
    """``text`` with credentials, session tokens, signatures and EKS tokens replaced by ``[redacted]``."""
    for pattern in _PATTERNS:
        text = pattern.sub(_replacement, text)
    return text


def _replacement(found: re.Match[str]) -> str:
    groups = found.groups()
    if not groups:
        return REDACTED
    if len(groups) == 3:  # <Tag>secret</Tag>
        return f"{groups[0]}{REDACTED}{groups[2]}"
    return f"{groups[0]}{REDACTED}"


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with ``redact``; drops botocore's signing details."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in _SIGNING_LOGGERS and record.levelno <= logging.DEBUG:
            return False
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if redact(text) != text:
                record.exc_info, record.exc_text = None, redact(text)
        return True


def install_log_redaction() -> None:
    """Put a ``RedactingFilter`` on every logger that writes requests, responses or signatures (once)."""
    global _installed
    with _lock:
        if _installed:
            return
        for name in LEAKY_LOGGERS:
            logging.getLogger(name).addFilter(RedactingFilter())
        _installed = True
