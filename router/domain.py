"""Domain values: frozen, slotted dataclasses and enums; sid generation. No I/O."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from datetime import datetime


def new_sid(prefix: str) -> str:
    """A Restcomm-style sid: two-letter prefix plus 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def is_sid(value: str, prefix: str) -> bool:
    """True when value has the shape of a sid with this prefix."""
    return len(value) == 34 and value.startswith(prefix) and _LOWER_HEX.issuperset(value[2:])


_LOWER_HEX = frozenset("0123456789abcdef")


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    UNINITIALIZED = "uninitialized"


class Role(enum.StrEnum):
    ADMINISTRATOR = "Administrator"
    DEVELOPER = "Developer"


class NumberType(enum.StrEnum):
    LOCAL = "local"
    TOLLFREE = "tollfree"
    MOBILE = "mobile"
    SIP = "sip"


class ApplicationKind(enum.StrEnum):
    VOICE = "voice"
    SMS = "sms"
    USSD = "ussd"


class Channel(enum.StrEnum):
    VOICE = "voice"
    SMS = "sms"
    REFER = "refer"
    USSD = "ussd"


@dataclass(frozen=True, slots=True)
class Organization:
    """A SIP domain scoping numbers."""

    sid: str
    domain_name: str
    status: str
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class Account:
    """A tenant; an active account without a parent is a super admin."""

    sid: str
    friendly_name: str
    status: AccountStatus
    role: Role
    parent_sid: str | None
    organization_sid: str
    signing_key: str
    date_created: datetime
    date_updated: datetime

    @property
    def is_super_admin(self) -> bool:
        return self.parent_sid is None and self.status is AccountStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class Credentials:
    """The stored form of an auth token: salt and HMAC-SHA256 digest."""

    salt: bytes
    digest: bytes


@dataclass(frozen=True, slots=True)
class Application:
    """An RCML application a number can point at."""

    sid: str
    account_sid: str
    friendly_name: str
    rcml_url: str | None
    kind: ApplicationKind
    api_version: str
    has_voice_caller_id_lookup: bool
    date_created: datetime
    date_updated: datetime


# Settable fields of a number, in the order of the seed's JSON example. The API maps
# wire names to these; the store writes exactly these columns.
URL_FIELDS = (
    "voice_url",
    "voice_fallback_url",
    "status_callback",
    "sms_url",
    "sms_fallback_url",
    "refer_url",
    "ussd_url",
    "ussd_fallback_url",
)
METHOD_FIELDS = (
    "voice_method",
    "voice_fallback_method",
    "status_callback_method",
    "sms_method",
    "sms_fallback_method",
    "refer_method",
    "ussd_method",
    "ussd_fallback_method",
)
APPLICATION_FIELDS = (
    "voice_application_sid",
    "sms_application_sid",
    "refer_application_sid",
    "ussd_application_sid",
)
FLAG_FIELDS = (
    "voice_caller_id_lookup",
    "voice_capable",
    "sms_capable",
    "mms_capable",
    "fax_capable",
)
TEXT_FIELDS = ("friendly_name", "api_version")
SETTABLE_FIELDS = TEXT_FIELDS + URL_FIELDS + METHOD_FIELDS + APPLICATION_FIELDS + FLAG_FIELDS


@dataclass(frozen=True, slots=True)
class ChannelFields:
    """The fields of a number that route one channel (SPEC 4): its application, else
    its URL and method, with the fallback URL and method where the channel has one."""

    application_sid: str
    application_url: str
    url: str
    method: str
    fallback_url: str | None
    fallback_method: str | None


def _channel_fields(prefix: str, *, fallback: bool = True) -> ChannelFields:
    return ChannelFields(
        f"{prefix}_application_sid",
        f"{prefix}_application_url",
        f"{prefix}_url",
        f"{prefix}_method",
        f"{prefix}_fallback_url" if fallback else None,
        f"{prefix}_fallback_method" if fallback else None,
    )


# The one table of which number fields route which channel.
CHANNEL_FIELDS: dict[Channel, ChannelFields] = {
    Channel.VOICE: _channel_fields("voice"),
    Channel.SMS: _channel_fields("sms"),
    Channel.USSD: _channel_fields("ussd"),
    Channel.REFER: _channel_fields("refer", fallback=False),  # a transfer has no fallback
}

# Which kind of application each application field accepts.
APPLICATION_KINDS: dict[str, frozenset[ApplicationKind]] = {
    "voice_application_sid": frozenset({ApplicationKind.VOICE}),
    "sms_application_sid": frozenset({ApplicationKind.SMS, ApplicationKind.USSD}),
    "refer_application_sid": frozenset({ApplicationKind.VOICE}),
    "ussd_application_sid": frozenset({ApplicationKind.USSD}),
}


@dataclass(frozen=True, slots=True)
class IncomingNumber:
    """A provisioned number (or pattern) with its routing configuration."""

    sid: str
    account_sid: str
    organization_sid: str
    phone_number: str
    friendly_name: str
    api_version: str
    number_type: NumberType
    pure_sip: bool
    voice_url: str | None = None
    voice_method: str = "POST"
    voice_fallback_url: str | None = None
    voice_fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    voice_caller_id_lookup: bool = False
    voice_application_sid: str | None = None
    sms_url: str | None = None
    sms_method: str = "POST"
    sms_fallback_url: str | None = None
    sms_fallback_method: str = "POST"
    sms_application_sid: str | None = None
    refer_url: str | None = None
    refer_method: str = "POST"
    refer_application_sid: str | None = None
    ussd_url: str | None = None
    ussd_method: str = "POST"
    ussd_fallback_url: str | None = None
    ussd_fallback_method: str = "POST"
    ussd_application_sid: str | None = None
    voice_capable: bool = True
    sms_capable: bool = True
    mms_capable: bool = False
    fax_capable: bool = False
    voice_application_name: str | None = None
    sms_application_name: str | None = None
    refer_application_name: str | None = None
    ussd_application_name: str | None = None
    voice_application_url: str | None = None
    sms_application_url: str | None = None
    refer_application_url: str | None = None
    ussd_application_url: str | None = None
    account_status: str = "active"
    # The account's webhook signing key, so a routed event needs no extra query.
    account_signing_key: str = field(default="", repr=False)
    date_created: datetime = field(default_factory=lambda: datetime.min)
    date_updated: datetime = field(default_factory=lambda: datetime.min)


@dataclass(frozen=True, slots=True)
class NumberRequest:
    """A validated provisioning request: which number, and the initial settings."""

    phone_number: str | None
    area_code: str | None
    pure_sip: bool
    number_type: NumberType | None  # None: any inventory type (the plain list route)
    settings: dict[str, object]


@dataclass(frozen=True, slots=True)
class InventoryNumber:
    """A DID the operator owns; free when no number holds it."""

    phone_number: str
    number_type: NumberType
    area_code: str
    country: str
    assigned_sid: str | None


class SortKey(enum.StrEnum):
    DATE_CREATED = "date_created"
    PHONE_NUMBER = "phone_number"
    FRIENDLY_NAME = "friendly_name"


@dataclass(frozen=True, slots=True)
class NumberFilter:
    """List filters and ordering for numbers of one account."""

    account_sid: str
    phone_number: str | None = None
    friendly_name: str | None = None
    number_type: NumberType | None = None
    sort: SortKey = SortKey.DATE_CREATED
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page: a bare page number (offset), or keyset after a sid."""

    page: int = 0
    page_size: int = 50
    after_sid: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of numbers and the total matching the filter."""

    items: tuple[IncomingNumber, ...]
    total: int
    page: int
    page_size: int


class CallStatus(enum.StrEnum):
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class Call:
    """A routed call, as later status events and refers find it."""

    sid: str
    number_sid: str
    account_sid: str
    organization_sid: str
    from_number: str
    to_number: str
    status: CallStatus
    caller_name: str | None
    forwarded_from: str | None
    sip_headers: dict[str, str]
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One delivery attempt of a status callback: time, status or error, latency, and
    the head of the answer."""

    attempted_at: datetime
    status: int | None
    error: str | None
    latency_ms: float
    response_body: str | None
    # False: the claim wrote the attempt and no settle followed (in flight, or its
    # instance stopped or lost the database before recording the answer).
    settled: bool = True


@dataclass(frozen=True, slots=True)
class StatusCallback:
    """A queued status callback (SPEC 6) and what became of it."""

    id: int
    call_sid: str
    account_sid: str
    sequence_number: int
    call_status: str
    url: str
    method: str
    delivery_id: str
    state: str  # pending | delivered | failed
    attempts: int
    next_attempt_at: datetime
    date_created: datetime
    attempt_log: tuple[AttemptRecord, ...] = ()
