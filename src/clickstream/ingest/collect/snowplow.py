"""Snowplow's tracker protocol: GET /i and POST tp2 payloads to the enriched-event CSV the snowplow adapter reads.

Each event becomes one CSV line under a header of Snowplow's canonical enriched columns
(`TSV_COLUMNS`). The collector fills what Snowplow's collector and enrich would, no more:
- `collector_tstamp`: the collector's clock when the request arrived (UTC);
- `derived_tstamp`: `true_tstamp` if sent, else collector_tstamp - (dvce_sent_tstamp -
  dvce_created_tstamp), Snowplow's clock-skew correction, else collector_tstamp;
- `event_id`: the tracker's `eid`, or, when none is sent, a UUID derived from the event's
  parameters (so a retried request deduplicates);
- `useragent`: the tracker's `ua`, else the request's User-Agent header;
- `network_userid`: the tracker's `tnuid`, else the collector's cookie when collect.network_cookie is on;
- the page and referrer URL parts, and `mkt_*` from the page URL's utm_ parameters;
- `event`, `event_name`, `event_vendor`, `event_format`, `event_version` from `e` and, for a
  self-describing event, its schema.
Cells are one line each: CR, LF and tab become spaces, and NUL is dropped.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from clickstream.ingest.adapters.snowplow import TSV_COLUMNS
from clickstream.ingest.collect.segment import BadRequest

PAYLOAD_SCHEMA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-"
_NAMESPACE = uuid.UUID("6f1c2a7e-3d4b-4c9a-9f1e-5b2d8a7c0e13")
_IGLU = re.compile(r"^iglu:([A-Za-z0-9_.-]+)/([A-Za-z0-9_-]+)/([A-Za-z0-9_-]+)/([0-9]+-[0-9]+-[0-9]+)$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CLEAN = str.maketrans({"\r": " ", "\n": " ", "\t": " ", "\x00": None})
VERSION = "clickstream-collect-0.1"

EVENTS = {
    "pv": "page_view",
    "pp": "page_ping",
    "tr": "transaction",
    "ti": "transaction_item",
    "se": "struct",
    "ue": "unstruct",
}
# Tracker parameter -> enriched column, copied as sent.
DIRECT = {
    "aid": "app_id", "p": "platform", "tna": "name_tracker", "tv": "v_tracker", "uid": "user_id",
    "duid": "domain_userid", "vid": "domain_sessionidx", "sid": "domain_sessionid", "page": "page_title",
    "refr": "page_referrer", "url": "page_url", "lang": "br_lang", "cs": "doc_charset", "tz": "os_timezone",
    "se_ca": "se_category", "se_ac": "se_action", "se_la": "se_label", "se_pr": "se_property", "se_va": "se_value",
    "tr_id": "tr_orderid", "tr_af": "tr_affiliation", "tr_tt": "tr_total", "tr_tx": "tr_tax", "tr_sh": "tr_shipping",
    "tr_ci": "tr_city", "tr_st": "tr_state", "tr_co": "tr_country", "tr_cu": "tr_currency",
    "ti_id": "ti_orderid", "ti_sk": "ti_sku", "ti_nm": "ti_name", "ti_ca": "ti_category", "ti_pr": "ti_price",
    "ti_qu": "ti_quantity", "ti_cu": "ti_currency",
    "pp_mix": "pp_xoffset_min", "pp_max": "pp_xoffset_max", "pp_miy": "pp_yoffset_min", "pp_may": "pp_yoffset_max",
}  # fmt: skip
_SIZES = {"res": ("dvce_screenwidth", "dvce_screenheight"), "vp": ("br_viewwidth", "br_viewheight"), "ds": ("doc_width", "doc_height")}
_UTM = {"utm_source": "mkt_source", "utm_medium": "mkt_medium", "utm_term": "mkt_term", "utm_content": "mkt_content", "utm_campaign": "mkt_campaign"}


def header() -> bytes:
    return (",".join(TSV_COLUMNS) + "\n").encode()


def _ts_text(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _epoch_ms(value: str | None) -> datetime | None:
    if not value or not value.isdigit() or len(value) > 15:
        return None
    try:
        return datetime(1970, 1, 1) + timedelta(milliseconds=int(value))
    except OverflowError:
        return None


def _json_param(params: dict[str, str], plain: str, encoded: str) -> str | None:
    """A JSON parameter sent as is (`ue_pr`, `co`) or base64url-encoded (`ue_px`, `cx`)."""
    if params.get(plain):
        return params[plain]
    raw = params.get(encoded)
    if not raw:
        return None
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


def _schema_of(unstruct: str | None) -> tuple[str, str, str, str] | None:
    """(vendor, name, format, version) of a self-describing event's inner schema."""
    if not unstruct:
        return None
    try:
        inner = json.loads(unstruct).get("data", {}).get("schema", "")
    except (ValueError, AttributeError, RecursionError):
        return None
    m = _IGLU.match(inner) if isinstance(inner, str) else None
    return m.groups() if m else None  # type: ignore[return-value]


def _url_parts(url: str | None, prefix: str, row: dict[str, str]) -> dict[str, str]:
    if not url:
        return {}
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return {}
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return {}
    row[f"{prefix}_urlscheme"] = parts.scheme
    row[f"{prefix}_urlhost"] = parts.hostname
    row[f"{prefix}_urlport"] = str(port or (443 if parts.scheme == "https" else 80))
    row[f"{prefix}_urlpath"] = parts.path or "/"
    row[f"{prefix}_urlquery"] = parts.query
    row[f"{prefix}_urlfragment"] = parts.fragment
    return dict(parse_qsl(parts.query, keep_blank_values=False))


def enrich(params: dict[str, str], collector_ts: datetime, user_agent: str | None, network_userid: str | None) -> dict[str, str]:
    """The enriched columns of one tracker event (parameters as sent)."""
    row: dict[str, str] = {}
    for param, column in DIRECT.items():
        if params.get(param):
            row[column] = params[param]
    for param, (w, h) in _SIZES.items():
        width, _, height = (params.get(param) or "").partition("x")
        if width.isdigit() and height.isdigit() and len(width) < 7 and len(height) < 7:
            row[w], row[h] = width, height
    code = params.get("e") or ""
    event = EVENTS.get(code, code)
    row["event"] = event
    row["event_name"], row["event_vendor"], row["event_format"], row["event_version"] = event, "com.snowplowanalytics.snowplow", "jsonschema", "1-0-0"
    if event == "struct":
        row["event_name"] = "event"
        row["event_vendor"] = "com.google.analytics"
    unstruct = _json_param(params, "ue_pr", "ue_px")
    if unstruct:
        row["unstruct_event"] = unstruct
        schema = _schema_of(unstruct)
        if schema:
            row["event_vendor"], row["event_name"], row["event_format"], row["event_version"] = schema
    contexts = _json_param(params, "co", "cx")
    if contexts:
        row["contexts"] = contexts
    query = _url_parts(row.get("page_url"), "page", row)
    for utm, column in _UTM.items():
        if query.get(utm):
            row[column] = query[utm]
    _url_parts(row.get("page_referrer"), "refr", row)
    row["collector_tstamp"] = _ts_text(collector_ts)
    created, sent, true = (_epoch_ms(params.get(k)) for k in ("dtm", "stm", "ttm"))
    for column, ts in (("dvce_created_tstamp", created), ("dvce_sent_tstamp", sent), ("true_tstamp", true)):
        if ts is not None:
            row[column] = _ts_text(ts)
    derived = true or (collector_ts - (sent - created) if created and sent and abs(sent - created) < timedelta(days=3650) else collector_ts)
    row["derived_tstamp"] = _ts_text(derived)
    eid = params.get("eid") or ""
    row["event_id"] = eid.lower() if _UUID.match(eid) else str(uuid.uuid5(_NAMESPACE, json.dumps(params, sort_keys=True)))
    ua = params.get("ua") or user_agent
    if ua:
        row["useragent"] = ua[:1024]
    nuid = params.get("tnuid") or network_userid
    if nuid:
        row["network_userid"] = nuid[:128]
    row["v_collector"] = VERSION
    return row


def to_csv(rows: list[dict[str, str]]) -> bytes:
    """CSV lines (no header) in TSV_COLUMNS order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for r in rows:
        writer.writerow([(r.get(c) or "").translate(_CLEAN) for c in TSV_COLUMNS])
    return out.getvalue().encode("utf-8", "replace")


def _as_params(item: Any) -> dict[str, str]:
    if not isinstance(item, dict):
        raise BadRequest(400, "invalid_event", "each event in `data` must be a JSON object of parameters")
    return {str(k)[:64]: v if isinstance(v, str) else json.dumps(v) for k, v in item.items() if v is not None}


def post_events(body: Any) -> list[dict[str, str]]:
    """The parameter sets of a tp2 POST body (`{"schema": payload_data, "data": [...]}`)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise BadRequest(400, "invalid_payload", "the body must be a payload_data object with a `data` list of events")
    schema = body.get("schema")
    if schema is not None and not (isinstance(schema, str) and schema.startswith(PAYLOAD_SCHEMA)):
        raise BadRequest(400, "invalid_schema", f"schema must be {PAYLOAD_SCHEMA}*")
    events = [_as_params(item) for item in body["data"]]
    if not events:
        raise BadRequest(400, "no_events", "`data` holds no events")
    return events


def query_event(query_string: bytes) -> dict[str, str]:
    """The parameters of a GET /i pixel request (the first value of a repeated parameter wins)."""
    params: dict[str, str] = {}
    for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=False, encoding="utf-8", errors="replace"):
        params.setdefault(k[:64], v)
    if "e" not in params:
        raise BadRequest(400, "no_event", "a pixel request needs at least the `e` parameter (event type)")
    return params
