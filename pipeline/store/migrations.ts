/**
 * Numbered schema migrations, applied in order; `PRAGMA user_version` records the last one applied.
 * Never edit a migration that has shipped: add the next number.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, templates, requests, tasks',
    sql: `
      CREATE TABLE runs (
        id           INTEGER PRIMARY KEY,
        started_at   TEXT NOT NULL,
        ended_at     TEXT,
        status       TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
        target       INTEGER NOT NULL,
        mode         TEXT NOT NULL,
        model        TEXT NOT NULL,
        options_json TEXT NOT NULL,
        pid          INTEGER,
        error        TEXT
      );

      CREATE TABLE templates (
        id      INTEGER PRIMARY KEY,
        name    TEXT NOT NULL,
        sha256  TEXT NOT NULL UNIQUE,
        content TEXT NOT NULL
      );

      CREATE TABLE requests (
        id                INTEGER PRIMARY KEY,
        run_id            INTEGER NOT NULL REFERENCES runs(id),
        template_id       INTEGER REFERENCES templates(id),
        created_at        TEXT NOT NULL,
        model             TEXT NOT NULL,
        messages_json     TEXT NOT NULL,
        params_json       TEXT NOT NULL,
        status            TEXT NOT NULL CHECK (status IN ('ok', 'error')),
        raw_reply         TEXT,
        finish_reason     TEXT,
        prompt_tokens     INTEGER,
        completion_tokens INTEGER,
        total_tokens      INTEGER,
        latency_ms        INTEGER,
        attempts          INTEGER NOT NULL DEFAULT 1,
        error             TEXT,
        reply_shape       TEXT,
        parse_problems    TEXT
      );
      CREATE INDEX requests_run ON requests(run_id);

      CREATE TABLE tasks (
        id              INTEGER PRIMARY KEY,
        source          TEXT NOT NULL,
        run_id          INTEGER REFERENCES runs(id),
        request_id      INTEGER REFERENCES requests(id),
        instruction     TEXT NOT NULL,
        input           TEXT NOT NULL,
        output          TEXT NOT NULL,
        category        TEXT,
        dedup_key       TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
        reason          TEXT,
        detail          TEXT,
        nearest_task_id INTEGER REFERENCES tasks(id),
        similarity      REAL,
        created_at      TEXT NOT NULL
      );
      -- Two accepted tasks can never share a key (they would be 100% similar): the store enforces it.
      CREATE UNIQUE INDEX tasks_accepted_key ON tasks(dedup_key) WHERE status = 'accepted';
      CREATE INDEX tasks_run_status ON tasks(run_id, status);
      CREATE INDEX tasks_source_status ON tasks(source, status);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
