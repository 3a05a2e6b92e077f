//! The OpenAPI document, generated from the route table below. The table is
//! the one list of routes: a test serves every entry and checks it exists.

use serde_json::{json, Map, Value};

/// One documented route.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path with `{params}`.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Who may call it: `customer`, `worker`, `admin`, `gateway` or `anyone`.
    pub who: &'static str,
    /// Request body schema name, if any.
    pub body: Option<&'static str>,
}

const fn r(
    method: &'static str,
    path: &'static str,
    who: &'static str,
    body: Option<&'static str>,
    summary: &'static str,
) -> RouteDoc {
    RouteDoc { method, path, summary, who, body }
}

/// Every route the node serves.
pub const ROUTES: &[RouteDoc] = &[
    r(
        "post",
        "/v1/orders",
        "customer",
        Some("OrderRequest"),
        "Place a structured order (header Idempotency-Key optional)",
    ),
    r(
        "get",
        "/v1/orders",
        "customer",
        None,
        "List own orders (admins: all; workers: their jobs); ?state=&limit=&offset=",
    ),
    r("get", "/v1/orders/{id}", "customer", None, "One order (own orders only)"),
    r("post", "/v1/orders/{id}/pay", "customer", None, "Payment details and where to pay"),
    r("post", "/v1/orders/{id}/cancel", "customer", None, "Cancel; fee per cancellation policy"),
    r("post", "/v1/orders/{id}/reschedule", "customer", Some("Reschedule"), "Move to another start time"),
    r(
        "post",
        "/v1/orders/{id}/change-worker",
        "customer",
        Some("ChangeWorker"),
        "Another worker; optionally block this one",
    ),
    r("post", "/v1/orders/{id}/rate", "customer", Some("Rate"), "Rate a completed order, 1-5 stars"),
    r("put", "/v1/customers/me/preferences", "customer", Some("Preferences"), "Favourite and blocked workers"),
    r(
        "post",
        "/v1/payments/callback",
        "gateway",
        Some("CallbackNotice"),
        "Signed gateway callback (X-Signature: HMAC-SHA256 hex)",
    ),
    r("post", "/v1/sandbox/pay/{payment_id}", "anyone", None, "Sandbox: simulate the customer paying"),
    r("post", "/v1/workers", "admin", Some("NewWorker"), "Register a worker"),
    r("get", "/v1/workers/{id}", "admin", None, "A worker's profile"),
    r("patch", "/v1/workers/{id}", "admin", Some("WorkerPatch"), "Change a worker's profile"),
    r("get", "/v1/workers/me/jobs", "worker", None, "The calling worker's jobs"),
    r("post", "/v1/jobs/{order_id}/check-in", "worker", None, "The assigned worker arrived"),
    r("post", "/v1/jobs/{order_id}/complete", "worker", None, "The assigned worker finished"),
    r("post", "/v1/jobs/{order_id}/decline", "worker", None, "The assigned worker cannot do it"),
    r("post", "/v1/auth/tokens", "admin", Some("TokenRequest"), "Issue a customer, worker or admin token"),
    r("post", "/v1/nlu/parse", "customer", Some("NluParse"), "Understand a sentence: intent, slots, entities"),
    r(
        "post",
        "/v1/chat",
        "customer",
        Some("ChatRequest"),
        "One chat message: reply, intent, slots, missing, expect, order, choices",
    ),
    r(
        "post",
        "/api/v1/order/place",
        "customer",
        Some("PlaceRequest"),
        "Mini program: a sentence in, an order or a follow-up question out (one conversation per customer)",
    ),
    r("get", "/ops/models", "admin", None, "Devices and loaded models with batch statistics"),
    r("post", "/ops/models/{name}/load", "admin", Some("ModelLoad"), "Load or hot-swap a model from the models folder"),
    r("post", "/ops/models/{name}/unload", "admin", None, "Unload a model; queued requests are still answered"),
    r(
        "get",
        "/ops/actors",
        "admin",
        None,
        "Supervision tree with every live actor's snapshot; ?scope=cluster: every member's",
    ),
    r("get", "/ops/cluster", "admin", None, "Cluster members (state, last heartbeat, actors, workers, HTTP address)"),
    r("post", "/ops/actors/{kind}/{id}/fail", "admin", None, "Supervision drill: make one actor fail"),
    r("get", "/ops/invariants", "admin", None, "Double bookings and stuck orders in the database"),
    r("get", "/", "anyone", None, "The chat page (HTML; token from #token= or pasted)"),
    r("get", "/ops", "anyone", None, "The ops page (HTML; admin token from #token= or pasted)"),
    r("get", "/healthz", "anyone", None, "Liveness"),
    r("get", "/readyz", "anyone", None, "Readiness (database reachable, not draining)"),
    r("get", "/metrics", "anyone", None, "Prometheus metrics"),
    r("get", "/openapi.json", "anyone", None, "This document"),
];

fn schemas() -> Value {
    let address = json!({ "type": "object", "required": ["text", "lat", "lon"], "additionalProperties": false,
        "properties": { "text": { "type": "string" }, "lat": { "type": "number" }, "lon": { "type": "number" } } });
    let services: Vec<&str> = autoglm_core::Service::ALL.iter().map(|s| s.as_str()).collect();
    let rooms: Vec<&str> = autoglm_core::Room::ALL.iter().map(|s| s.as_str()).collect();
    json!({
        "Error": { "type": "object", "properties": { "error": { "type": "object",
            "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } } },
        "OrderRequest": { "type": "object", "required": ["service", "start", "address"], "additionalProperties": false,
            "properties": {
                "service": { "type": "string", "enum": services },
                "rooms": { "type": "array", "items": { "type": "string", "enum": rooms } },
                "start": { "type": "string", "format": "date-time" },
                "duration_minutes": { "type": "integer", "multipleOf": 30 },
                "address": address,
                "notes": { "type": "string", "maxLength": 500 } } },
        "Order": { "type": "object", "properties": {
            "id": { "type": "string" }, "state": { "type": "string", "enum":
                ["negotiating", "awaiting_payment", "confirmed", "in_service", "completed", "cancelled", "unassignable"] },
            "service": { "type": "string" }, "rooms": { "type": "array", "items": { "type": "string" } },
            "start": { "type": "string", "format": "date-time" }, "duration_minutes": { "type": "integer" },
            "address": address, "worker": { "type": ["object", "null"] }, "price": { "type": "object" },
            "payment": { "type": ["object", "null"] }, "alternatives": { "type": "array" },
            "created_at": { "type": "string" }, "updated_at": { "type": "string" } } },
        "Reschedule": { "type": "object", "required": ["start"], "additionalProperties": false,
            "properties": { "start": { "type": "string", "format": "date-time" } } },
        "ChangeWorker": { "type": "object", "additionalProperties": false, "properties": { "block": { "type": "boolean" } } },
        "NluParse": { "type": "object", "required": ["text"], "additionalProperties": false, "properties": {
            "text": { "type": "string", "maxLength": 500 },
            "reference_time": { "type": "string", "format": "date-time" },
            "lang": { "type": "string", "enum": ["zh", "en"] } } },
        "ModelLoad": { "type": "object", "additionalProperties": false,
            "properties": { "dir": { "type": "string", "description": "folder inside the models folder" } } },
        "Rate": { "type": "object", "required": ["stars"], "additionalProperties": false,
            "properties": { "stars": { "type": "integer", "minimum": 1, "maximum": 5 } } },
        "Preferences": { "type": "object", "additionalProperties": false, "properties": {
            "favourites": { "type": "array", "items": { "type": "string" } },
            "blocked": { "type": "array", "items": { "type": "string" } },
            "address": address } },
        "ChatRequest": { "type": "object", "required": ["text"], "additionalProperties": false, "properties": {
            "session_id": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" },
            "text": { "type": "string", "minLength": 1, "maxLength": 500 },
            "reference_time": { "type": "string", "format": "date-time" } } },
        "PlaceRequest": { "type": "object", "required": ["text"], "additionalProperties": false,
            "properties": { "text": { "type": "string", "minLength": 1, "maxLength": 500 } } },
        "CallbackNotice": { "type": "object", "additionalProperties": false,
            "required": ["payment_id", "order_id", "amount_cents", "status", "nonce", "sent_at_ms"] },
        "NewWorker": { "type": "object", "required": ["name", "skills", "home"], "additionalProperties": false },
        "WorkerPatch": { "type": "object", "additionalProperties": false },
        "TokenRequest": { "type": "object", "required": ["role", "subject"], "additionalProperties": false,
            "properties": { "role": { "type": "string", "enum": ["customer", "worker", "admin"] },
                "subject": { "type": "string" }, "ttl_secs": { "type": "integer" } } },
    })
}

/// The OpenAPI 3.1 document of the node.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let mut op = json!({
            "summary": route.summary,
            "x-caller": route.who,
            "responses": {
                "200": { "description": "OK" },
                "4XX": { "description": "Bad input or not allowed", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        });
        if route.who != "anyone" && route.who != "gateway" {
            op["security"] = json!([{ "bearer": [] }]);
        }
        if let Some(body) = route.body {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{body}") } } } });
        }
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        let entry = paths.entry(route.path.to_string()).or_insert_with(|| json!({}));
        entry[route.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "AutoGLM Home Services", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } }
        }
    })
}
