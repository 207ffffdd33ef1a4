-- The model the upstream was asked for ('' before 2026-12 and when it is the one the client named).
ALTER TABLE usage_events ADD COLUMN upstream_model String DEFAULT '';
