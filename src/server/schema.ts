/**
 * The server's tables, as ordered migrations of portable SQL (SQLite and PostgreSQL). Times are BIGINT
 * epoch milliseconds; JSON is TEXT; `{{SERIAL_PK}}` is the dialect's auto-increment primary key.
 */

export interface Migration {
  version: number;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    statements: [
      // Principals that act with an admin token: administrators, approvers, auditors.
      `CREATE TABLE admin_tokens (
        token_hash TEXT PRIMARY KEY,
        principal TEXT NOT NULL,
        roles TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
      )`,
      `CREATE TABLE enrollment_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        bundle_id TEXT,
        device_id TEXT,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT,
        used_by_device TEXT
      )`,
      `CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        user_id TEXT NOT NULL,
        name TEXT,
        host TEXT,
        bundle_id TEXT,
        token_hash TEXT NOT NULL UNIQUE,
        enrolled_at BIGINT NOT NULL,
        revoked_at BIGINT,
        last_seen BIGINT,
        status TEXT,
        acked_seq BIGINT NOT NULL DEFAULT 0,
        last_hash TEXT,
        events BIGINT NOT NULL DEFAULT 0
      )`,
      `CREATE TABLE trust_docs (
        version BIGINT PRIMARY KEY,
        tenant TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        envelope TEXT NOT NULL,
        published_by TEXT NOT NULL,
        published_at BIGINT NOT NULL
      )`,
      `CREATE TABLE bundles (
        bundle_id TEXT NOT NULL,
        epoch BIGINT NOT NULL,
        version BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        envelope TEXT NOT NULL,
        issued_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        published_by TEXT NOT NULL,
        published_at BIGINT NOT NULL,
        PRIMARY KEY (bundle_id, epoch, version)
      )`,
      `CREATE TABLE audit_events (
        id {{SERIAL_PK}},
        device_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        event_id TEXT,
        duplicate_of TEXT,
        time BIGINT,
        received_at BIGINT NOT NULL,
        type TEXT NOT NULL,
        effect TEXT,
        tool TEXT,
        user_name TEXT,
        session_id TEXT,
        bundle_version TEXT,
        prev TEXT NOT NULL,
        hash TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (device_id, seq),
        UNIQUE (event_id)
      )`,
      'CREATE INDEX audit_events_time ON audit_events (time)',
      'CREATE INDEX audit_events_user ON audit_events (user_name, id)',
      'CREATE INDEX audit_events_session ON audit_events (session_id, id)',
      'CREATE INDEX audit_events_effect ON audit_events (effect, id)',
      `CREATE TABLE audit_event_rules (
        event_row BIGINT NOT NULL,
        rule_id TEXT NOT NULL,
        PRIMARY KEY (event_row, rule_id)
      )`,
      'CREATE INDEX audit_event_rules_rule ON audit_event_rules (rule_id, event_row)',
      `CREATE TABLE audit_alerts (
        id {{SERIAL_PK}},
        device_id TEXT,
        kind TEXT NOT NULL,
        seq BIGINT,
        expected_seq BIGINT,
        detail TEXT NOT NULL,
        at BIGINT NOT NULL
      )`,
      `CREATE TABLE audit_skips (
        device_id TEXT NOT NULL,
        from_seq BIGINT NOT NULL,
        to_seq BIGINT NOT NULL,
        reason TEXT NOT NULL,
        hash TEXT,
        detail TEXT,
        at BIGINT NOT NULL,
        PRIMARY KEY (device_id, from_seq)
      )`,
      `CREATE TABLE idempotency (
        device_id TEXT NOT NULL,
        idem_key TEXT NOT NULL,
        request_sha256 TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (device_id, idem_key)
      )`,
      `CREATE TABLE exception_requests (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        rule_ids TEXT NOT NULL,
        tool TEXT NOT NULL,
        matcher TEXT NOT NULL,
        scope TEXT NOT NULL,
        duration_ms BIGINT NOT NULL,
        justification TEXT NOT NULL,
        ticket TEXT,
        source_event_id TEXT,
        status TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        request_expires_at BIGINT NOT NULL,
        decided_at BIGINT,
        grant_id TEXT
      )`,
      'CREATE INDEX exception_requests_status ON exception_requests (status, created_at)',
      `CREATE TABLE exception_reviews (
        request_id TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        verdict TEXT NOT NULL,
        comment TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (request_id, reviewer, verdict)
      )`,
      `CREATE TABLE grants (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        tenant TEXT NOT NULL,
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        envelope TEXT NOT NULL,
        not_before BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        issued_at BIGINT NOT NULL,
        revoked_at BIGINT,
        revoked_by TEXT,
        revoke_reason TEXT
      )`,
      'CREATE INDEX grants_device ON grants (device_id, expires_at)',
      `CREATE TABLE export_state (
        name TEXT PRIMARY KEY,
        last_row BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
    ],
  },
];

/** Every table, in an order that TRUNCATE/DELETE can follow (tests). */
export const TABLES = [
  'admin_tokens',
  'enrollment_tokens',
  'devices',
  'trust_docs',
  'bundles',
  'audit_events',
  'audit_event_rules',
  'audit_alerts',
  'audit_skips',
  'idempotency',
  'exception_requests',
  'exception_reviews',
  'grants',
  'export_state',
];
