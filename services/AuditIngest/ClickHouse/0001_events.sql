-- One table per event kind, one row per event. Works on ClickHouse 18.16 (Debian) and current
-- servers: DateTime (no DateTime64), monthly partitions (retention drops whole months), sorted by
-- day first so time ranges prune, then by who — the common filters. Inserts skip event ids
-- already stored (redelivery, spool replay); ReplacingMergeTree folds any duplicate two
-- replicas raced in when parts merge (a duplicate is the same row, so the sort key matches).

CREATE TABLE IF NOT EXISTS usage_events (
    event_id String,
    ts DateTime('UTC'),
    trace_id String,
    user_id String,
    team_id String,
    api_key_id String,
    provider String,
    model String,
    endpoint String,
    input_tokens UInt64,
    output_tokens UInt64,
    cached_input_tokens UInt64,
    reasoning_tokens UInt64,
    tokens_estimated UInt8,
    weighted_tokens UInt64,
    cost_micro_usd UInt64,
    latency_ms UInt32,
    ttft_ms Int32,
    status UInt16,
    stream UInt8,
    tags Array(String)
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (toDate(ts), user_id, ts, event_id);

CREATE TABLE IF NOT EXISTS mcp_calls (
    event_id String,
    ts DateTime('UTC'),
    trace_id String,
    user_id String,
    api_key_id String,
    account_label String,
    server_id String,
    tool String,
    arguments String,
    response_bytes UInt64,
    latency_ms UInt32,
    error String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (toDate(ts), user_id, ts, event_id);

CREATE TABLE IF NOT EXISTS admin_audit (
    event_id String,
    ts DateTime('UTC'),
    trace_id String,
    actor_user_id String,
    action String,
    target_kind String,
    target_id String,
    client_ip String,
    details String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (toDate(ts), actor_user_id, ts, event_id);

CREATE TABLE IF NOT EXISTS access_events (
    event_id String,
    ts DateTime('UTC'),
    trace_id String,
    surface String,
    reason String,
    user_id String,
    api_key_id String,
    client_ip String,
    rule_label String,
    detail String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (toDate(ts), surface, ts, event_id);
