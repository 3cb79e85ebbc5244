"""The request parameter that sets a field, as both mounts name it (voice_url ->
VoiceUrl): the core names fields, the API speaks its parameters."""

from __future__ import annotations

from functools import cache

# Where the parameter is not the field's name in PascalCase.
PARAMETER_NAMES = {
    "status_callback": "StatusCallback",
    "status_callback_method": "StatusCallbackMethod",
}


@cache
def parameter_name(field: str) -> str:
    """The parameter of a field: voice_fallback_url -> VoiceFallbackUrl."""
    return PARAMETER_NAMES.get(field) or "".join(part.capitalize() for part in field.split("_"))
