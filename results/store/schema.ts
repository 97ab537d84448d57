/**
 * The SQLite schema, versioned with PRAGMA user_version. Each entry of MIGRATIONS moves the
 * database from version i to i + 1; never edit a shipped entry, append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    suite         TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('running', 'interrupted', 'finished')),
    created_at    TEXT NOT NULL,
    finished_at   TEXT,
    config_path   TEXT,
    config_json   TEXT NOT NULL,   -- resolved config, API keys never included (only env var names)
    config_hash   TEXT NOT NULL,   -- hash of resolved config + dataset content: what resume matches on
    dataset_path  TEXT NOT NULL,
    dataset_hash  TEXT NOT NULL,
    record_count  INTEGER NOT NULL,
    repeats       INTEGER NOT NULL,
    scorers_json  TEXT NOT NULL    -- scorer specs {name, kind, args, match} so a run can be recreated
  );
  CREATE INDEX runs_suite ON runs (suite, id);
  CREATE INDEX runs_hash ON runs (config_hash, status);

  CREATE TABLE candidates (
    run_id        INTEGER NOT NULL REFERENCES runs (id),
    candidate     TEXT NOT NULL,
    model         TEXT NOT NULL,
    api           TEXT NOT NULL,
    base_url      TEXT,
    params_json   TEXT NOT NULL,
    price_json    TEXT NOT NULL,   -- {input, cached_input, output, source} USD per 1M tokens
    PRIMARY KEY (run_id, candidate)
  );

  -- Request bodies are stored once per record, not once per call.
  CREATE TABLE records (
    run_id        INTEGER NOT NULL REFERENCES runs (id),
    record_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL, -- position in the dataset: the order work is issued in
    api           TEXT NOT NULL,
    tags_json     TEXT NOT NULL,
    body_json     TEXT NOT NULL,    -- the whole normalized record (request, reference, production...)
    PRIMARY KEY (run_id, record_id)
  );
  CREATE UNIQUE INDEX records_seq ON records (run_id, seq);

  CREATE TABLE calls (
    id               INTEGER PRIMARY KEY,
    run_id           INTEGER NOT NULL REFERENCES runs (id),
    record_id        TEXT NOT NULL,
    candidate        TEXT NOT NULL,
    repeat           INTEGER NOT NULL,
    role             TEXT NOT NULL DEFAULT 'candidate', -- candidate | judge | router
    status           TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    output           TEXT,
    tool_calls_json  TEXT,
    finish_reason    TEXT,
    input_tokens     INTEGER,
    cached_tokens    INTEGER,
    output_tokens    INTEGER,
    reasoning_tokens INTEGER,
    cost_usd         REAL,
    latency_ms       REAL,          -- the successful attempt alone: request sent to last byte
    ttft_ms          REAL,          -- request sent to first output token (streaming only)
    queue_ms         REAL,          -- waiting for a concurrency slot, apart from latency
    backoff_ms       REAL,          -- retry waits and failed attempts, apart from latency
    attempts         INTEGER NOT NULL,
    error_kind       TEXT,
    error_message    TEXT,
    http_status      INTEGER,
    served_model     TEXT,          -- the snapshot the API reported serving
    request_id       TEXT,
    server_ms        REAL,          -- openai-processing-ms
    service_tier     TEXT,
    simulated        INTEGER NOT NULL DEFAULT 0,
    started_at       TEXT NOT NULL,
    finished_at      TEXT NOT NULL,
    UNIQUE (run_id, record_id, candidate, repeat, role)
  );
  CREATE INDEX calls_run_candidate ON calls (run_id, candidate, role);

  CREATE TABLE scores (
    call_id   INTEGER NOT NULL REFERENCES calls (id),
    scorer    TEXT NOT NULL,
    value     REAL,                 -- NULL: unscored (the scorer could not judge)
    passed    INTEGER,              -- NULL: unscored
    detail    TEXT,
    PRIMARY KEY (call_id, scorer)
  );
  `,
  // v2: `aux` tells apart several calls of one role on the same (record, candidate, repeat): the judge
  // scorer (and the order of a pairwise judge). SQLite cannot alter a UNIQUE constraint, so the table
  // is rebuilt (foreign keys are switched off around migrations; see Store.migrate).
  `
  CREATE TABLE calls_v2 (
    id               INTEGER PRIMARY KEY,
    run_id           INTEGER NOT NULL REFERENCES runs (id),
    record_id        TEXT NOT NULL,
    candidate        TEXT NOT NULL,   -- judge rows: the candidate judged; router rows: the router's name
    repeat           INTEGER NOT NULL,
    role             TEXT NOT NULL DEFAULT 'candidate', -- candidate | judge | router
    aux              TEXT NOT NULL DEFAULT '',          -- judge rows: scorer name (and pairwise order)
    status           TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    output           TEXT,
    tool_calls_json  TEXT,
    finish_reason    TEXT,
    input_tokens     INTEGER,
    cached_tokens    INTEGER,
    output_tokens    INTEGER,
    reasoning_tokens INTEGER,
    cost_usd         REAL,
    latency_ms       REAL,
    ttft_ms          REAL,
    queue_ms         REAL,
    backoff_ms       REAL,
    attempts         INTEGER NOT NULL,
    error_kind       TEXT,
    error_message    TEXT,
    http_status      INTEGER,
    served_model     TEXT,
    request_id       TEXT,
    server_ms        REAL,
    service_tier     TEXT,
    simulated        INTEGER NOT NULL DEFAULT 0,
    started_at       TEXT NOT NULL,
    finished_at      TEXT NOT NULL,
    UNIQUE (run_id, record_id, candidate, repeat, role, aux)
  );
  INSERT INTO calls_v2 (id, run_id, record_id, candidate, repeat, role, status, output, tool_calls_json,
    finish_reason, input_tokens, cached_tokens, output_tokens, reasoning_tokens, cost_usd, latency_ms, ttft_ms,
    queue_ms, backoff_ms, attempts, error_kind, error_message, http_status, served_model, request_id, server_ms,
    service_tier, simulated, started_at, finished_at)
  SELECT id, run_id, record_id, candidate, repeat, role, status, output, tool_calls_json,
    finish_reason, input_tokens, cached_tokens, output_tokens, reasoning_tokens, cost_usd, latency_ms, ttft_ms,
    queue_ms, backoff_ms, attempts, error_kind, error_message, http_status, served_model, request_id, server_ms,
    service_tier, simulated, started_at, finished_at FROM calls;
  DROP TABLE calls;
  ALTER TABLE calls_v2 RENAME TO calls;
  CREATE INDEX calls_run_candidate ON calls (run_id, candidate, role);
  `,
  // v3: batch mode. One row per Batch API batch a run submitted, written before the batch is
  // created (status 'submitting', with the token it carries in its metadata) and given the
  // provider's id the moment it exists: a rerun polls it instead of paying for its requests twice.
  `
  CREATE TABLE batches (
    id               INTEGER PRIMARY KEY,
    run_id           INTEGER NOT NULL REFERENCES runs (id),
    candidate        TEXT NOT NULL,
    token            TEXT NOT NULL UNIQUE, -- ours, also in the batch's metadata (holdout_token)
    batch_id         TEXT UNIQUE,          -- the provider's; NULL while submitting
    endpoint         TEXT NOT NULL,        -- /v1/chat/completions | /v1/responses
    input_file_id    TEXT NOT NULL,
    status           TEXT NOT NULL,        -- submitting | the provider's status | lost | abandoned
    request_count    INTEGER NOT NULL,
    completed_count  INTEGER,              -- request_counts as last polled
    failed_count     INTEGER,
    created_at       TEXT NOT NULL,
    finished_at      TEXT,                 -- when the batch reached a final status
    output_file_id   TEXT,
    error_file_id    TEXT,
    custom_ids_json  TEXT NOT NULL,        -- JSON array of the custom_ids it covers (harness/batch/custom-id.ts)
    collected_at     TEXT,                 -- its results are call rows; NULL = still to poll or collect
    note             TEXT                  -- why it ended without (all) results
  );
  CREATE INDEX batches_run ON batches (run_id, candidate);
  `,
  // v4: run leases and batch reservations. A `holdout run` process holds a lease on the run it works
  // on (results/store/lease.ts): one row per run, taken in an IMMEDIATE transaction, renewed while
  // the process lives and deleted when it ends; a second process refuses a run whose lease is live.
  // `worst_case_usd` is what a batch was reserved against the budget when it was submitted (its
  // requests' input tokens and output limits at the batch rate), held until its results are collected.
  `
  CREATE TABLE run_leases (
    run_id        INTEGER PRIMARY KEY REFERENCES runs (id),
    pid           INTEGER NOT NULL,   -- the holding process
    host          TEXT NOT NULL,      -- os.hostname() of the holding process
    token         TEXT NOT NULL,      -- random per taking: tells the holder's own lease from a successor's
    since         TEXT NOT NULL,      -- ISO time the lease was taken
    heartbeat_ms  INTEGER NOT NULL    -- Unix ms of the last renewal; stale after LEASE_STALE_MS
  );
  ALTER TABLE batches ADD COLUMN worst_case_usd REAL;
  `,
  // v5: prompt-cache writes. `usage.prompt_tokens_details.cache_write_tokens` (Chat) /
  // `usage.input_tokens_details.cache_write_tokens` (Responses): input tokens written to the prompt
  // cache, a part of input_tokens apart from cached_tokens (reads). Billed at 1.25× input from gpt-5.6.
  // NULL on rows written before this column existed and on error rows.
  `
  ALTER TABLE calls ADD COLUMN cache_write_tokens INTEGER;
  `,
  // v6: `holdout view` (results/view/). `grades`: a reviewer's pass/fail on one candidate output, with a
  // note; several per output, the newest (highest id) wins; model scores are never touched.
  // `calls_errors`: the records page's error filter and its list of kinds, from a run's error rows alone
  // (partial, so the writes of ok calls do not pay for it). The outcome filters need no new index: they
  // probe the calls' unique key and the scores' primary key.
  `
  CREATE TABLE grades (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    record_id   TEXT NOT NULL,
    candidate   TEXT NOT NULL,
    repeat      INTEGER NOT NULL,
    reviewer    TEXT NOT NULL,
    value       TEXT NOT NULL CHECK (value IN ('pass', 'fail')),
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    FOREIGN KEY (run_id, record_id) REFERENCES records (run_id, record_id)
  );
  CREATE INDEX grades_output ON grades (run_id, record_id, candidate, repeat, id);
  CREATE INDEX calls_errors ON calls (run_id, error_kind, record_id) WHERE status = 'error';
  `,
  // v7: anytime-valid early stopping (SEQUENTIAL.md §1; results/store/sequential.ts). One row per run
  // made with --until-decided or a `stop:` block, written with the run before any call: the two
  // candidates, the settings, and the seeded order its records are issued and fed in (committed
  // before the run, so completion order cannot leak into the verdict). The decision columns are
  // filled when the run stops sending: what, when, after how many records in that order.
  `
  CREATE TABLE sequential (
    run_id         INTEGER PRIMARY KEY REFERENCES runs (id),
    baseline       TEXT NOT NULL,
    candidate      TEXT NOT NULL,
    alpha          REAL NOT NULL,
    margin         REAL NOT NULL,
    bet_cap        REAL NOT NULL,     -- c: every betting factor is at least 1 - c
    seed           INTEGER NOT NULL,  -- of the order (mulberry32 Fisher-Yates over seq)
    order_json     TEXT NOT NULL,     -- JSON array of records.seq in the order issued and fed
    verdict        TEXT CHECK (verdict IN ('PASS', 'FAIL', 'INCONCLUSIVE')), -- NULL: not decided yet
    decided_at     TEXT,
    records_used   INTEGER,           -- records of the order consumed at the decision
    prompts_fed    INTEGER            -- of those, prompts fed to the e-processes (unscored ones are left out)
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
