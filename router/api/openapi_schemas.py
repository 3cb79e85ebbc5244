"""JSON Schemas of what the API answers, for the OpenAPI document (api/openapi.py).

They state the keys a client may rely on and their types; objects stay open
(additional keys allowed), as Restcomm clients ignore what they do not know.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

TEXT: Schema = {"type": "string"}
NULLABLE_TEXT: Schema = {"type": ["string", "null"]}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object with these keys (always present) and these others (sometimes)."""
    return {
        "type": "object",
        "required": sorted(required),
        "properties": {**required, **(optional or {})},
    }


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {"code": INTEGER, "message": TEXT, "more_info": TEXT, "status": INTEGER},
    ),
    "IncomingPhoneNumber": obj(
        {
            "sid": TEXT,
            "account_sid": TEXT,
            "friendly_name": NULLABLE_TEXT,
            "phone_number": TEXT,
            "voice_url": NULLABLE_TEXT,
            "voice_method": NULLABLE_TEXT,
            "status_callback": NULLABLE_TEXT,
            "date_created": NULLABLE_TEXT,
            "date_updated": NULLABLE_TEXT,
            "capabilities": obj(
                {
                    "voice_capable": BOOLEAN,
                    "sms_capable": BOOLEAN,
                    "mms_capable": BOOLEAN,
                    "fax_capable": BOOLEAN,
                }
            ),
            "uri": TEXT,
            "organization_sid": TEXT,
            "number_type": TEXT,
            "pure_sip": BOOLEAN,
        }
    ),
    "IncomingPhoneNumberList": obj(
        {
            "page": INTEGER,
            "num_pages": INTEGER,
            "page_size": INTEGER,
            "total": INTEGER,
            "start": INTEGER,
            "end": INTEGER,
            "uri": TEXT,
            "first_page_uri": TEXT,
            "previous_page_uri": NULLABLE_TEXT,
            "next_page_uri": NULLABLE_TEXT,
            "last_page_uri": TEXT,
            "incomingPhoneNumbers": array(ref("IncomingPhoneNumber")),
        }
    ),
    "AvailableCountries": {"type": "array", "items": TEXT},
    # The Twilio mount renders Twilio's own keys and list envelopes (see Twilio's API
    # reference); what holds for every one of its answers is that it is a JSON object.
    "TwilioResource": {"type": "object"},
    "Migration": obj({"account_sid": TEXT, "organization_sid": TEXT, "migrated": INTEGER}),
    "AvailablePhoneNumberList": obj(
        {
            "uri": TEXT,
            "available_phone_numbers": array(
                obj(
                    {
                        "friendly_name": TEXT,
                        "phone_number": TEXT,
                        "area_code": NULLABLE_TEXT,
                        "iso_country": TEXT,
                        "number_type": TEXT,
                    }
                )
            ),
        }
    ),
    "Account": obj(
        {
            "sid": TEXT,
            "friendly_name": NULLABLE_TEXT,
            "status": TEXT,
            "role": TEXT,
            "parent_sid": NULLABLE_TEXT,
            "organization_sid": TEXT,
            "uri": TEXT,
        },
        {"auth_token": TEXT, "signing_key": TEXT},
    ),
    "Application": obj(
        {
            "sid": TEXT,
            "friendly_name": NULLABLE_TEXT,
            "account_sid": TEXT,
            "rcml_url": NULLABLE_TEXT,
            "kind": TEXT,
            "uri": TEXT,
        }
    ),
    "Organization": obj({"sid": TEXT, "domain_name": TEXT, "status": TEXT, "uri": TEXT}),
    "InventoryImport": obj(
        {
            "inserted": INTEGER,
            "already_present": INTEGER,
            "rejected": INTEGER,
            "rejections": array(obj({"line": INTEGER, "reason": TEXT, "row": TEXT})),
        }
    ),
    "Decision": obj(
        {"outcome": TEXT},
        {
            "call_sid": TEXT,
            "number": {"type": ["object", "null"]},
            "match": {"type": ["object", "null"]},
            "target": {"type": ["object", "null"]},
            "rcml": NULLABLE_TEXT,
            "rcml_source": NULLABLE_TEXT,
            "trace": obj(
                {
                    "spellings": array(TEXT),
                    "exact": array(
                        obj({"spelling": TEXT, "result": TEXT, "number_sid": NULLABLE_TEXT})
                    ),
                    "pattern": obj({"ran": BOOLEAN}),
                },
                {"full": obj({"steps": array({"type": "object"}), "truncated": BOOLEAN})},
            ),
        },
    ),
    "StatusAccepted": obj({"call_sid": TEXT, "call_status": TEXT, "duplicate": BOOLEAN}),
    "CallCallbacks": obj({"call_sid": TEXT, "callbacks": array({"type": "object"})}),
    "RetryAccepted": obj({"id": INTEGER, "state": TEXT}),
    "Health": obj({"status": TEXT}, {"version": TEXT, "pending": array(TEXT)}),
}
