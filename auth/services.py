"""The process-wide collaborators of authentication, built once from Settings."""

from __future__ import annotations

from dataclasses import dataclass

from auth.passwords import Hasher
from auth.ratelimit import Limiter
from auth.secretbox import SecretBox
from auth.tokens import TokenService
from core.config import Settings


@dataclass(frozen=True, slots=True)
class AuthServices:
    settings: Settings
    hasher: Hasher
    tokens: TokenService
    secrets: SecretBox
    limiter: Limiter
