/**
 * Numbered schema migrations, applied in order; `PRAGMA user_version` records the last one applied.
 * Never edit a migration that has shipped: add the next number.
 */
interface Migration {
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
  {
    version: 2,
    name: 'request attempts, cost, batches',
    sql: `
      -- Every HTTP attempt of a request: where the time went (waits, latency) and why retries happened.
      CREATE TABLE request_attempts (
        id          INTEGER PRIMARY KEY,
        request_id  INTEGER NOT NULL REFERENCES requests(id),
        attempt     INTEGER NOT NULL,
        started_at  TEXT NOT NULL,
        http_status INTEGER,
        latency_ms  INTEGER,
        -- NULL when the attempt succeeded; else the LlmError kind (rate_limit, server, timeout, ...).
        error_kind  TEXT,
        -- Waited before this attempt: rate limiter queue plus back-off.
        wait_ms     INTEGER NOT NULL DEFAULT 0,
        max_tokens  INTEGER,
        UNIQUE (request_id, attempt)
      );

      -- Batch API jobs. status is our side of it: 'preparing' (requests stored, file not uploaded yet),
      -- 'uploaded' (input file id known, batch not created yet), 'submitted' (provider batch id known),
      -- 'ingested' (results stored). provider_status is the provider's (validating ... completed).
      CREATE TABLE batches (
        id                INTEGER PRIMARY KEY,
        run_id            INTEGER NOT NULL REFERENCES runs(id),
        status            TEXT NOT NULL CHECK (status IN ('preparing', 'uploaded', 'submitted', 'ingested')),
        provider_status   TEXT,
        request_count     INTEGER NOT NULL,
        input_bytes       INTEGER,
        input_file_id     TEXT,
        provider_batch_id TEXT UNIQUE,
        output_file_id    TEXT,
        error_file_id     TEXT,
        created_at        TEXT NOT NULL,
        submitted_at      TEXT,
        finished_at       TEXT,
        ingested_at       TEXT,
        error             TEXT
      );
      CREATE INDEX batches_run_status ON batches(run_id, status);

      -- One line of a batch input file; custom_id 'zhsi-<id>' ties the result line back to it. request_id
      -- is set in the same transaction that stores the result, so a line is never ingested twice.
      CREATE TABLE batch_requests (
        id            INTEGER PRIMARY KEY,
        batch_id      INTEGER NOT NULL REFERENCES batches(id),
        template_id   INTEGER REFERENCES templates(id),
        messages_json TEXT NOT NULL,
        params_json   TEXT NOT NULL,
        request_id    INTEGER UNIQUE REFERENCES requests(id)
      );
      CREATE INDEX batch_requests_batch ON batch_requests(batch_id);

      -- USD at the model's price (batch price for batch results); NULL when the model has no price.
      ALTER TABLE requests ADD COLUMN cost_usd REAL;
      ALTER TABLE requests ADD COLUMN batch_id INTEGER REFERENCES batches(id);
    `,
  },
  {
    version: 3,
    name: 'exports',
    sql: `
      -- One row per export attempt. Rows count as exported only through a 'complete' export: the row is
      -- marked complete after its files, manifest and LATEST are in place, so a crash exports nothing.
      CREATE TABLE exports (
        id              INTEGER PRIMARY KEY,
        export_id       TEXT NOT NULL UNIQUE,
        -- Absolute path of --out: '--since last' continues the previous complete export into the same folder.
        out_dir         TEXT NOT NULL,
        format          TEXT NOT NULL,
        since           TEXT NOT NULL CHECK (since IN ('last', 'all', 'run')),
        run_id          INTEGER REFERENCES runs(id),
        -- Which rows qualify (sources, categories, seeds): '--since last' must not change it silently.
        selection_json  TEXT NOT NULL,
        options_json    TEXT NOT NULL,
        -- The rows considered: after_task_id < tasks.id <= through_task_id.
        after_task_id   INTEGER NOT NULL,
        through_task_id INTEGER NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('writing', 'complete', 'failed', 'abandoned')),
        records         INTEGER,
        dropped         INTEGER,
        files_json      TEXT,
        pid             INTEGER,
        started_at      TEXT NOT NULL,
        finished_at     TEXT,
        error           TEXT
      );
      CREATE INDEX exports_out_status ON exports(out_dir, status);
    `,
  },
  // -- judge (issue 12) ------------------------------------------------------------------------------
  {
    version: 4,
    name: 'judgments, judge requests',
    sql: `
      -- What a request was for. Judge requests belong to a run too: a 'judge' run (runs.mode = 'judge'),
      -- or the generate run that judged its own tasks inline (generate --judge-model), so its spending
      -- counts against that run's --max-cost.
      ALTER TABLE requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'generate' CHECK (kind IN ('generate', 'judge'));

      -- One judge's verdict on one task. Another judge model or rubric adds rows; nothing is overwritten,
      -- and the unique key means no task is judged twice by the same judge.
      CREATE TABLE judgments (
        id              INTEGER PRIMARY KEY,
        task_id         INTEGER NOT NULL REFERENCES tasks(id),
        judge_model     TEXT NOT NULL,
        rubric_sha256   TEXT NOT NULL,
        score           REAL NOT NULL CHECK (score >= 1 AND score <= 10),
        sub_scores_json TEXT NOT NULL,
        flags_json      TEXT NOT NULL,
        reason          TEXT NOT NULL,
        request_id      INTEGER REFERENCES requests(id),
        created_at      TEXT NOT NULL,
        UNIQUE (task_id, judge_model, rubric_sha256)
      );
      CREATE INDEX judgments_judge ON judgments(judge_model, rubric_sha256, task_id);

      -- A judge batch line's tasks, in prompt id order (id k is the k-th): the body sent must hold only API fields.
      ALTER TABLE batch_requests ADD COLUMN judge_task_ids TEXT;
    `,
  },
  {
    version: 5,
    name: 'answers (two-stage generation)',
    sql: `
      -- Answers written for a task in a separate request (stage 2, or \`answer\`). A task stored with an
      -- empty output is an instruction awaiting its answer; one-stage tasks never have an empty output.
      -- A task may have answers from several models; rejected ones keep the reason, and a model that
      -- has been rejected answer_retries + 1 times on a task has found it unanswerable.
      CREATE TABLE answers (
        id            INTEGER PRIMARY KEY,
        task_id       INTEGER NOT NULL REFERENCES tasks(id),
        run_id        INTEGER REFERENCES runs(id),
        request_id    INTEGER REFERENCES requests(id),
        model         TEXT NOT NULL,
        template_id   INTEGER REFERENCES templates(id),
        output        TEXT NOT NULL,
        finish_reason TEXT,
        status        TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
        reason        TEXT,
        detail        TEXT,
        created_at    TEXT NOT NULL
      );
      -- One accepted answer per task and model: a task is never answered twice by the same model.
      CREATE UNIQUE INDEX answers_accepted ON answers(task_id, model) WHERE status = 'accepted';
      CREATE INDEX answers_task_model ON answers(task_id, model, status);
      CREATE INDEX answers_run_status ON answers(run_id, status);
      CREATE INDEX tasks_awaiting ON tasks(source, id) WHERE status = 'accepted' AND output = '';

      -- The task an answer request was for (NULL: a generation request). Named apart from the judge's
      -- \`kind\` (migration 4); set for failed answer requests too, which have no answers row.
      ALTER TABLE requests ADD COLUMN answer_task_id INTEGER REFERENCES tasks(id);
    `,
  },
  // -- dialogues (issue 14) -------------------------------------------------------------------------
  {
    version: 6,
    name: 'dialogues: tasks.kind and dialogue_turns',
    sql: `
      -- A conversation is a tasks row of kind 'dialogue' (first user turn as instruction, first reply as
      -- output), so it shares the accepted-key unique index, nearest_task_id, run counts and rejections
      -- with tasks; its turns are rows of dialogue_turns.
      ALTER TABLE tasks ADD COLUMN kind TEXT NOT NULL DEFAULT 'task' CHECK (kind IN ('task', 'dialogue'));
      CREATE TABLE dialogue_turns (
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        -- 0-based position in the conversation.
        turn    INTEGER NOT NULL,
        role    TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        -- cl100k tokens of content, counted when stored (stats and manifests read them).
        tokens  INTEGER NOT NULL,
        PRIMARY KEY (task_id, turn)
      ) WITHOUT ROWID;
      CREATE INDEX tasks_kind_status ON tasks(kind, status);
    `,
  },
  // -- end dialogues ---------------------------------------------------------------------------------
  // -- two-stage in batch mode, judged answers (issue 13) ---------------------------------------------
  {
    version: 7,
    name: 'answer batch lines, judgments of answers',
    sql: `
      -- The task an answer batch line is for (NULL: a generation or judge line); the body sent holds only API fields.
      ALTER TABLE batch_requests ADD COLUMN answer_task_id INTEGER REFERENCES tasks(id);

      -- A judgment is of a task's own output (answer_id NULL) or of one of its answers: two-stage tasks
      -- are judged answer by answer, and an export scores a row by the answer it exports. The old
      -- UNIQUE (task_id, judge_model, rubric_sha256) cannot be altered in place, so the table is rebuilt.
      CREATE TABLE judgments_v7 (
        id              INTEGER PRIMARY KEY,
        task_id         INTEGER NOT NULL REFERENCES tasks(id),
        answer_id       INTEGER REFERENCES answers(id),
        judge_model     TEXT NOT NULL,
        rubric_sha256   TEXT NOT NULL,
        score           REAL NOT NULL CHECK (score >= 1 AND score <= 10),
        sub_scores_json TEXT NOT NULL,
        flags_json      TEXT NOT NULL,
        reason          TEXT NOT NULL,
        request_id      INTEGER REFERENCES requests(id),
        created_at      TEXT NOT NULL
      );
      INSERT INTO judgments_v7 (id, task_id, answer_id, judge_model, rubric_sha256, score, sub_scores_json, flags_json, reason,
                                request_id, created_at)
        SELECT id, task_id, NULL, judge_model, rubric_sha256, score, sub_scores_json, flags_json, reason, request_id, created_at
        FROM judgments;
      DROP TABLE judgments;
      ALTER TABLE judgments_v7 RENAME TO judgments;
      -- No output (a task's own, or an answer) is judged twice by the same judge.
      CREATE UNIQUE INDEX judgments_subject ON judgments(task_id, coalesce(answer_id, 0), judge_model, rubric_sha256);
      CREATE INDEX judgments_judge ON judgments(judge_model, rubric_sha256, task_id);
      CREATE INDEX judgments_answer ON judgments(answer_id) WHERE answer_id IS NOT NULL;
    `,
  },
  {
    version: 8,
    name: 'requests.endpoint',
    sql: `
      -- Which endpoint a request went to, when a run spreads requests over several (NULL: the one base URL).
      ALTER TABLE requests ADD COLUMN endpoint TEXT;
    `,
  },
  // -- stored replies capped (issue 21) ---------------------------------------------------------------
  {
    version: 9,
    name: 'requests.raw_reply_chars: the true length of a reply stored cut',
    sql: `
      -- raw_reply keeps at most the characters the parser reads (parse.ts MAX_PARSE_CHARS) and a marker;
      -- this is the reply's whole length in characters (UTF-16 units), set for every reply stored from now on.
      ALTER TABLE requests ADD COLUMN raw_reply_chars INTEGER;
    `,
  },
  // -- benchmark decontamination (issue 25) ----------------------------------------------------------
  {
    version: 10,
    name: 'benchmarks, contamination',
    sql: `
      -- A benchmark tasks were checked against, by name: checking again under the same name replaces
      -- its files' record. sha256 is over the files' relative paths and hashes (files_json lists them).
      CREATE TABLE benchmarks (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        path        TEXT NOT NULL,
        items       INTEGER NOT NULL,
        sha256      TEXT NOT NULL,
        files_json  TEXT NOT NULL,
        threshold   REAL NOT NULL,
        -- n-gram length and the other index parameters in force.
        params_json TEXT NOT NULL,
        checked_at  TEXT NOT NULL
      );

      -- A task found to overlap a benchmark item: the item it overlaps most, and the share of that item's
      -- n-grams (or its stem's: scope) found in the task. Accepted tasks are flagged by \`decontaminate\` and
      -- left out of exports; rejected ones (reason benchmark_overlap) were caught at acceptance.
      CREATE TABLE contamination (
        task_id      INTEGER NOT NULL REFERENCES tasks(id),
        benchmark_id INTEGER NOT NULL REFERENCES benchmarks(id),
        item_id      TEXT NOT NULL,
        coverage     REAL NOT NULL,
        scope        TEXT NOT NULL CHECK (scope IN ('item', 'stem', 'short')),
        created_at   TEXT NOT NULL,
        PRIMARY KEY (task_id, benchmark_id)
      ) WITHOUT ROWID;
      CREATE INDEX contamination_benchmark ON contamination(benchmark_id, coverage);
    `,
  },
  // -- Evol-Instruct (issue 23) ------------------------------------------------------------------------
  {
    version: 11,
    name: 'evolutions: lineage of evolved tasks',
    sql: `
      -- One evolution of a parent task in a round: the child is a task row of source 'evolved' (accepted, or
      -- rejected with its reason like every rejection); status says which. A failed evolution (rejected
      -- child) puts the parent in the next round's pool; an accepted child is the next round's parent.
      CREATE TABLE evolutions (
        id             INTEGER PRIMARY KEY,
        parent_task_id INTEGER NOT NULL REFERENCES tasks(id),
        root_task_id   INTEGER NOT NULL REFERENCES tasks(id),
        round          INTEGER NOT NULL CHECK (round >= 1),
        operation      TEXT NOT NULL,
        child_task_id  INTEGER NOT NULL REFERENCES tasks(id),
        status         TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
        reason         TEXT,
        run_id         INTEGER REFERENCES runs(id),
        request_id     INTEGER REFERENCES requests(id),
        created_at     TEXT NOT NULL
      );
      -- A task evolves at most once per round, whatever crashes or runs twice.
      CREATE UNIQUE INDEX evolutions_parent_round ON evolutions(parent_task_id, round);
      CREATE UNIQUE INDEX evolutions_child ON evolutions(child_task_id);
      CREATE INDEX evolutions_root ON evolutions(root_task_id);
    `,
  },
  // -- embeddings (issue 24) ------------------------------------------------------------------------
  {
    version: 12,
    name: 'embeddings',
    sql: `
      -- A task's embedding by one model: the vector of its near-duplicate key text (instruction + newline +
      -- input; a dialogue's first user turns), float32 little-endian as the model returned it. text_sha256
      -- is that text's hash: a task with the same text and model takes the stored vector, never a request.
      -- request_id: the request that brought it (NULL: copied from a task with the same text).
      CREATE TABLE embeddings (
        task_id     INTEGER NOT NULL REFERENCES tasks(id),
        model       TEXT NOT NULL,
        text_sha256 TEXT NOT NULL,
        dimensions  INTEGER NOT NULL,
        vector      BLOB NOT NULL,
        request_id  INTEGER REFERENCES requests(id),
        created_at  TEXT NOT NULL,
        PRIMARY KEY (task_id, model)
      ) WITHOUT ROWID;
      CREATE INDEX embeddings_text ON embeddings(model, text_sha256);
    `,
  },
  // -- one batch runner for every stage (issue 20) ----------------------------------------------------
  {
    version: 13,
    name: 'batch lines of any stage',
    sql: `
      -- The stage whose lines a batch holds (NULL: written before, by generate or judge) and the API route
      -- its lines go to: a batch has one model and one route.
      ALTER TABLE batches ADD COLUMN stage TEXT;
      ALTER TABLE batches ADD COLUMN endpoint TEXT NOT NULL DEFAULT '/v1/chat/completions';
      -- A line's unit of work as the stage wrote it (plain JSON), read back when its result arrives.
      ALTER TABLE batch_requests ADD COLUMN unit_json TEXT;
    `,
  },
  // -- dialogues answered turn by turn (issue 20) ----------------------------------------------------
  {
    version: 14,
    name: 'dialogue drafts: conversations being built turn by turn',
    sql: `
      -- A conversation of a dialogue run with an answer model, while it is being built: the generation
      -- model writes the user turns, the answer model every reply, one request per turn. Each turn is
      -- stored with the reply that brought it, so a killed run goes on from the last stored turn. A draft
      -- is never exported: once complete (or given up) it becomes a tasks row of kind 'dialogue' with its
      -- dialogue_turns, and the draft is deleted in the same transaction.
      CREATE TABLE dialogue_drafts (
        id          INTEGER PRIMARY KEY,
        run_id      INTEGER NOT NULL REFERENCES runs(id),
        -- The reply that brought the opening.
        request_id  INTEGER REFERENCES requests(id),
        -- Exchanges (a user turn and its reply) the conversation is to have, drawn from the run's bounds.
        planned     INTEGER NOT NULL CHECK (planned >= 1),
        -- Rejected replies for the turn now due, and why the last one was rejected.
        rejected    INTEGER NOT NULL DEFAULT 0,
        last_reason TEXT,
        last_detail TEXT,
        created_at  TEXT NOT NULL
      );
      CREATE INDEX dialogue_drafts_run ON dialogue_drafts(run_id);
      CREATE TABLE dialogue_draft_turns (
        draft_id   INTEGER NOT NULL REFERENCES dialogue_drafts(id) ON DELETE CASCADE,
        turn       INTEGER NOT NULL,
        role       TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content    TEXT NOT NULL,
        request_id INTEGER REFERENCES requests(id),
        PRIMARY KEY (draft_id, turn)
      ) WITHOUT ROWID;
      -- Which request wrote a turn (NULL: a turn of a whole conversation in one reply, as the task's request).
      ALTER TABLE dialogue_turns ADD COLUMN request_id INTEGER REFERENCES requests(id);
    `,
  },
  // -- the optional model check of an evolution (issue 23) ---------------------------------------------
  {
    version: 15,
    name: 'evolution checks',
    sql: `
      -- evolve --check-model: a cheap model's verdict on whether an evolved instruction adds anything to its
      -- parent's. Until its row exists an evolved task is not answered; adds = 0 rejects it (evolve_no_gain).
      CREATE TABLE evolve_checks (
        task_id    INTEGER PRIMARY KEY REFERENCES tasks(id),
        model      TEXT NOT NULL,
        adds       INTEGER NOT NULL CHECK (adds IN (0, 1)),
        request_id INTEGER REFERENCES requests(id),
        created_at TEXT NOT NULL
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
