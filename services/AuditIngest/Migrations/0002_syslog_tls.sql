-- Syslog over TLS (RFC 5425) joins the forwarder kinds.
ALTER TABLE log_forwarders DROP CONSTRAINT log_forwarders_kind_check;
ALTER TABLE log_forwarders ADD CONSTRAINT log_forwarders_kind_check
    CHECK (kind IN ('syslog_udp', 'syslog_tcp', 'syslog_tls', 'webhook', 'kafka'));
