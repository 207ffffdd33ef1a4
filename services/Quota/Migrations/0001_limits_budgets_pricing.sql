-- Rate-limit rules: at most `limit_value` of `metric` per sliding `time_window` for a subject on
-- one surface. subject_id '*' applies the rule to each subject of the kind separately.
CREATE TABLE rate_limit_rules (
    id            uuid PRIMARY KEY,
    subject_kind  text NOT NULL CHECK (subject_kind IN ('user', 'api_key', 'team', 'provider', 'mcp_server')),
    subject_id    text NOT NULL,
    surface       text NOT NULL CHECK (surface IN ('ai_gateway', 'mcp_gateway')),
    metric        text NOT NULL CHECK (metric IN ('requests', 'tokens')),
    time_window   text NOT NULL CHECK (time_window IN ('1m', '5m', '1h', '5h', '1d', '1w')),
    limit_value   bigint NOT NULL CHECK (limit_value > 0),
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (subject_kind, subject_id, surface, metric, time_window)
);

-- Budget caps per calendar period (UTC): weighted tokens and/or US dollars (in millionths).
CREATE TABLE budget_caps (
    id                     uuid PRIMARY KEY,
    subject_kind           text NOT NULL CHECK (subject_kind IN ('user', 'api_key', 'team', 'provider', 'mcp_server')),
    subject_id             text NOT NULL,
    period                 text NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly')),
    limit_weighted_tokens  bigint CHECK (limit_weighted_tokens > 0),
    limit_micro_usd        bigint CHECK (limit_micro_usd > 0),
    action                 text NOT NULL CHECK (action IN ('block', 'warn')),
    enabled                boolean NOT NULL DEFAULT true,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (limit_weighted_tokens IS NOT NULL OR limit_micro_usd IS NOT NULL),
    UNIQUE (subject_kind, subject_id, period)
);

-- Prices in US dollars per million tokens (= millionths of a dollar per token) and token
-- weights, per model: an exact name, or a prefix ending in '*' (the longest match wins).
CREATE TABLE model_prices (
    model                       text PRIMARY KEY,
    input_usd_per_mtok          numeric(14, 6) NOT NULL CHECK (input_usd_per_mtok >= 0),
    output_usd_per_mtok         numeric(14, 6) NOT NULL CHECK (output_usd_per_mtok >= 0),
    cached_input_usd_per_mtok   numeric(14, 6) NOT NULL CHECK (cached_input_usd_per_mtok >= 0),
    input_weight                numeric(10, 4) NOT NULL DEFAULT 1 CHECK (input_weight >= 0),
    output_weight               numeric(10, 4) NOT NULL DEFAULT 1 CHECK (output_weight >= 0),
    cached_input_weight         numeric(10, 4) NOT NULL DEFAULT 1 CHECK (cached_input_weight >= 0),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);

-- List prices of common models when this migration was written; edit them under /api/pricing.
INSERT INTO model_prices (model, input_usd_per_mtok, output_usd_per_mtok, cached_input_usd_per_mtok) VALUES
    ('gpt-5*',                    1.25,  10.00, 0.125),
    ('gpt-5-mini*',               0.25,   2.00, 0.025),
    ('gpt-5-nano*',               0.05,   0.40, 0.005),
    ('gpt-4.1*',                  2.00,   8.00, 0.50),
    ('gpt-4.1-mini*',             0.40,   1.60, 0.10),
    ('gpt-4.1-nano*',             0.10,   0.40, 0.025),
    ('gpt-4o*',                   2.50,  10.00, 1.25),
    ('gpt-4o-mini*',              0.15,   0.60, 0.075),
    ('o3*',                       2.00,   8.00, 0.50),
    ('o4-mini*',                  1.10,   4.40, 0.275),
    ('text-embedding-3-small',    0.02,   0,    0),
    ('text-embedding-3-large',    0.13,   0,    0),
    ('claude-opus-4-5*',          5.00,  25.00, 0.50),
    ('claude-opus-4*',           15.00,  75.00, 1.50),
    ('claude-sonnet-4*',          3.00,  15.00, 0.30),
    ('claude-haiku-4-5*',         1.00,   5.00, 0.10),
    ('claude-3-5-haiku*',         0.80,   4.00, 0.08),
    ('gemini-2.5-pro*',           1.25,  10.00, 0.125),
    ('gemini-2.5-flash*',         0.30,   2.50, 0.03),
    ('gemini-2.5-flash-lite*',    0.10,   0.40, 0.01);

-- Events written with the change they describe, published to RabbitMQ after commit.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    message_type  text NOT NULL,
    body          jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
