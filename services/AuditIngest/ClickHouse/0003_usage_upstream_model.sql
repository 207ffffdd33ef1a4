-- The model the upstream was asked for ('' in records from before 2026-12 and when no upstream was called).
ALTER TABLE usage_events ADD COLUMN upstream_model String DEFAULT '';
