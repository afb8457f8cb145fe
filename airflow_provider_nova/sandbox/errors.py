"""Errors the stand-in answers with, in the shape of the AWS JSON protocol."""

from __future__ import annotations


class ServiceError(Exception):
    """An error response: ``code`` becomes ``__type``, HTTP status 400 unless given."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)
