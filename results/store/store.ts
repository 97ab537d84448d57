import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { HarnessError } from '../../harness/errors.js';
import { createPrivateFile, isWritable, notADatabase, storeWriteError } from './files.js';
import type {
  BatchRow,
  BatchUpdate,
  CallRow,
  CandidateRow,
  FinishedCall,
  NewBatch,
  NewRecord,
  NewRun,
  RunRow,
  ScoreRow,
  StoredRecord,
} from './rows.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export { storeWriteError } from './files.js';
export type * from './rows.js';

/**
 * The one store: synchronous like better-sqlite3. Tests open it on ':memory:' or a temp file.
 * Every write that belongs together is one transaction, and none spans an await.
 */
export class Store {
  readonly db: Database.Database;
  /** The database file, for messages. */
  readonly path: string;
  private readonly stmts;
  private readonly recordTx: (call: CallRow, scores: ScoreRow[], replace: boolean) => number;
  private readonly recordManyTx: (calls: readonly FinishedCall[]) => void;

  /** Opened read-only: the file is not writable by this process and the command only reads. */
  readonly readOnly: boolean;

  constructor(path: string, opts: StoreOptions = {}) {
    const memory = path === ':memory:';
    const exists = memory || existsSync(path);
    if (!exists && opts.mustExist) {
      throw new HarnessError('STORE_OPEN', `no database at ${path}`, {
        hint: 'run `holdout demo` or `holdout run <config>` first, or point --db at an existing database',
      });
    }
    if (!exists) createPrivateFile(path);
    this.readOnly =
      !memory && (opts.readOnly === true || (opts.readOnly === 'auto' && exists && !isWritable(path)));
    try {
      this.db = new Database(path, this.readOnly ? { readonly: true, fileMustExist: true } : {});
    } catch (err) {
      throw new HarnessError('STORE_OPEN', `cannot open database ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.path = path;
    try {
      // First: another process may hold the write lock (a run, or a migration) while this one opens.
      this.db.pragma('busy_timeout = 5000');
      if (this.readOnly) {
        this.db.pragma('foreign_keys = ON');
        this.checkReadableVersion(path);
      } else {
        this.write(() => {
          this.enableWal();
          // NORMAL is durable against a process crash in WAL mode (only an OS crash can lose the last commits).
          this.db.pragma('synchronous = NORMAL');
          this.db.pragma('foreign_keys = ON');
          // Checkpoint less often: a run rewrites the same index pages many times between checkpoints.
          this.db.pragma('wal_autocheckpoint = 10000');
          this.migrate(path);
        });
      }
    } catch (err) {
      this.db.close();
      throw notADatabase(err, path);
    }
    this.stmts = this.prepare();
    // Built once: wrapping a new transaction function per call cost measurable time on the hot path.
    this.recordTx = this.db.transaction((call: CallRow, scores: ScoreRow[], replace: boolean) =>
      this.writeCall(call, scores, replace),
    );
    this.recordManyTx = this.db.transaction((calls: readonly FinishedCall[]) => {
      for (const f of calls) this.writeCall(f.row, f.scores, f.replace);
    });
  }

  /** A read-only file cannot be migrated: it must already have this holdout's schema. */
  private checkReadableVersion(path: string): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version === SCHEMA_VERSION) return;
    throw new HarnessError(
      'STORE_VERSION',
      version > SCHEMA_VERSION
        ? `${path} has schema version ${version}, newer than this holdout understands (${SCHEMA_VERSION}); upgrade holdout`
        : `${path} is read-only and has schema version ${version}; this holdout reads version ${SCHEMA_VERSION} and cannot upgrade a file it may not write`,
      {
        hint: 'open it once with write access (any holdout command upgrades it), or upgrade a writable copy',
      },
    );
  }

  /**
   * Switches a new database to WAL. The switch needs an exclusive lock and SQLite answers SQLITE_BUSY
   * at once, without waiting, when another process opens the same new file at that moment: retried
   * for up to the busy timeout.
   */
  private enableWal(): void {
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        this.db.pragma('journal_mode = WAL');
        return;
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 + Math.random() * 20);
      }
    }
  }

  private migrate(path: string): void {
    const check = (version: number) => {
      if (version > SCHEMA_VERSION) {
        throw new HarnessError(
          'STORE_VERSION',
          `${path} has schema version ${version}, newer than this holdout understands (${SCHEMA_VERSION}); upgrade holdout`,
        );
      }
    };
    const seen = this.db.pragma('user_version', { simple: true }) as number;
    check(seen);
    if (seen === SCHEMA_VERSION) return;
    // Two processes may open a new database at once: the version is read again and every step applied
    // inside one IMMEDIATE transaction, so the second waits (busy_timeout) and then finds nothing to do.
    // A migration may rebuild a table that others reference; SQLite's recipe switches foreign keys
    // off around it (the pragma is a no-op inside a transaction) and checks them before commit.
    this.db.pragma('foreign_keys = OFF');
    try {
      this.db
        .transaction(() => {
          const version = this.db.pragma('user_version', { simple: true }) as number;
          check(version);
          for (let v = version; v < SCHEMA_VERSION; v++) {
            this.db.exec(MIGRATIONS[v]!);
            const broken = this.db.pragma('foreign_key_check') as unknown[];
            if (broken.length > 0) throw new Error(`migration ${v + 1} broke ${broken.length} foreign keys`);
            this.db.pragma(`user_version = ${v + 1}`);
          }
        })
        .immediate();
    } finally {
      this.db.pragma('foreign_keys = ON');
    }
  }

  /**
   * Runs a write, turning a full or failing disk into a HarnessError (STORE_FULL, STORE_WRITE) that
   * says so: SQLite has rolled the statement or transaction back, and everything committed is kept.
   */
  write<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw storeWriteError(err, this.path);
    }
  }

  /** `fn` in one BEGIN IMMEDIATE transaction: the write lock is taken first, so reads and writes are one step. */
  immediate<T>(fn: () => T): T {
    return this.write(() => this.db.transaction(fn).immediate());
  }

  private prepare() {
    const db = this.db;
    return {
      insertRun:
        db.prepare(`INSERT INTO runs (suite, status, created_at, config_path, config_json, config_hash,
          dataset_path, dataset_hash, record_count, repeats, scorers_json)
        VALUES (@suite, 'running', @createdAt, @configPath, @configJson, @configHash, @datasetPath, @datasetHash,
          @recordCount, @repeats, @scorersJson)`),
      insertCandidate:
        db.prepare(`INSERT INTO candidates (run_id, candidate, model, api, base_url, params_json, price_json)
        VALUES (@runId, @candidate, @model, @api, @baseUrl, @paramsJson, @priceJson)`),
      insertRecord: db.prepare(`INSERT INTO records (run_id, record_id, seq, api, tags_json, body_json)
        VALUES (@runId, @recordId, @seq, @api, @tagsJson, @bodyJson)`),
      insertRecordIfMissing:
        db.prepare(`INSERT OR IGNORE INTO records (run_id, record_id, seq, api, tags_json,
          body_json) VALUES (@runId, @recordId, @seq, @api, @tagsJson, @bodyJson)`),
      getRun: db.prepare('SELECT * FROM runs WHERE id = ?'),
      latestRun: db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT 1'),
      latestRunOfSuite: db.prepare('SELECT * FROM runs WHERE suite = ? ORDER BY id DESC LIMIT 1'),
      resumable: db.prepare(
        `SELECT * FROM runs WHERE config_hash = ? AND status != 'finished' ORDER BY id DESC LIMIT 1`,
      ),
      setStatus: db.prepare('UPDATE runs SET status = @status, finished_at = @finishedAt WHERE id = @id'),
      candidates: db.prepare('SELECT * FROM candidates WHERE run_id = ? ORDER BY rowid'),
      recordPage: db.prepare(
        'SELECT seq, record_id, body_json FROM records WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      callExists: db.prepare(
        `SELECT status FROM calls WHERE run_id = ? AND record_id = ? AND candidate = ? AND repeat = ? AND role = ? AND aux = ?`,
      ),
      deleteCall: db.prepare(
        `DELETE FROM calls WHERE run_id = ? AND record_id = ? AND candidate = ? AND repeat = ? AND role = ? AND aux = ? RETURNING id`,
      ),
      deleteScores: db.prepare('DELETE FROM scores WHERE call_id = ?'),
      // Positional, in the order of writeCall's arguments: binding 31 named parameters looked each
      // name up on an object built per row (≈4 µs of the ≈14 µs a row costs the run's hot path).
      insertCall:
        db.prepare(`INSERT INTO calls (run_id, record_id, candidate, repeat, role, aux, status, output,
          tool_calls_json, finish_reason, input_tokens, cached_tokens, cache_write_tokens, output_tokens,
          reasoning_tokens, cost_usd, latency_ms, ttft_ms, queue_ms, backoff_ms, attempts, error_kind, error_message,
          http_status, served_model, request_id, server_ms, service_tier, simulated, started_at, finished_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertScore: db.prepare(
        `INSERT INTO scores (call_id, scorer, value, passed, detail) VALUES (?, ?, ?, ?, ?)`,
      ),
      upsertScore: db.prepare(`INSERT OR REPLACE INTO scores (call_id, scorer, value, passed, detail)
        VALUES (@callId, @scorer, @value, @passed, @detail)`),
      storedCall: db.prepare(
        `SELECT id, status, output FROM calls
         WHERE run_id = ? AND record_id = ? AND candidate = ? AND repeat = ? AND role = ? AND aux = ?`,
      ),
      recordBody: db.prepare('SELECT body_json FROM records WHERE run_id = ? AND record_id = ?').pluck(),
      recordCount: db.prepare('SELECT count(*) FROM records WHERE run_id = ?').pluck(),
      insertBatch: db.prepare(`INSERT INTO batches (run_id, candidate, token, endpoint, input_file_id, status,
          request_count, created_at, custom_ids_json, worst_case_usd)
        VALUES (@runId, @candidate, @token, @endpoint, @inputFileId, 'submitting', @requestCount, @createdAt,
          @customIdsJson, @worstCaseUsd)`),
      updateBatch: db.prepare(`UPDATE batches SET
          batch_id = coalesce(@batchId, batch_id),
          status = coalesce(@status, status),
          completed_count = coalesce(@completedCount, completed_count),
          failed_count = coalesce(@failedCount, failed_count),
          finished_at = coalesce(@finishedAt, finished_at),
          output_file_id = coalesce(@outputFileId, output_file_id),
          error_file_id = coalesce(@errorFileId, error_file_id),
          collected_at = coalesce(@collectedAt, collected_at),
          note = coalesce(@note, note)
        WHERE id = @id`),
      runBatches: db.prepare('SELECT * FROM batches WHERE run_id = ? ORDER BY id'),
      openBatches: db.prepare(
        'SELECT * FROM batches WHERE run_id = ? AND candidate = ? AND collected_at IS NULL ORDER BY id',
      ),
      countCalls: db.prepare(
        `SELECT count(*) AS n, sum(status = 'error') AS errors, coalesce(sum(cost_usd), 0) AS cost
         FROM calls WHERE run_id = ? AND role = 'candidate'`,
      ),
    };
  }

  createRun(run: NewRun, candidates: CandidateRow[]): number {
    return this.immediate(() => {
      const id = Number(
        this.stmts.insertRun.run({ ...run, configPath: run.configPath ?? null }).lastInsertRowid,
      );
      for (const c of candidates)
        this.stmts.insertCandidate.run({ ...c, runId: id, baseUrl: c.baseUrl ?? null });
      return id;
    });
  }

  /**
   * Stores one batch of records, in dataset order from `startSeq`, in one transaction. With
   * `ifMissing`, records already stored are left as they are (completing an interrupted storing).
   */
  insertRecords(runId: number, rows: NewRecord[], startSeq: number, ifMissing = false): void {
    const insert = ifMissing ? this.stmts.insertRecordIfMissing : this.stmts.insertRecord;
    this.immediate(() => {
      rows.forEach((r, i) => {
        insert.run({
          runId,
          recordId: r.id,
          seq: startSeq + i,
          api: r.api,
          tagsJson: JSON.stringify(r.tags),
          bodyJson: r.json,
        });
      });
    });
  }

  getRun(id: number): RunRow | undefined {
    return this.stmts.getRun.get(id) as RunRow | undefined;
  }

  latestRun(suite?: string): RunRow | undefined {
    return (suite ? this.stmts.latestRunOfSuite.get(suite) : this.stmts.latestRun.get()) as
      | RunRow
      | undefined;
  }

  /** The newest unfinished run with this config hash: what a plain rerun after a crash picks up. */
  resumableRun(configHash: string): RunRow | undefined {
    return this.stmts.resumable.get(configHash) as RunRow | undefined;
  }

  setRunStatus(id: number, status: RunRow['status'], finishedAt: string | null = null): void {
    this.write(() => this.stmts.setStatus.run({ id, status, finishedAt }));
  }

  candidates(runId: number): {
    candidate: string;
    model: string;
    api: string;
    base_url: string | null;
    params_json: string;
    price_json: string;
  }[] {
    return this.stmts.candidates.all(runId) as never;
  }

  /** Records after `afterSeq`, in dataset order: keyset paging, so no cursor stays open across awaits. */
  recordPage(runId: number, afterSeq: number, limit: number): StoredRecord[] {
    return this.stmts.recordPage.all(runId, afterSeq, limit) as StoredRecord[];
  }

  callStatus(
    runId: number,
    recordId: string,
    candidate: string,
    repeat: number,
    role = 'candidate',
    aux = '',
  ): 'ok' | 'error' | undefined {
    const row = this.stmts.callExists.get(runId, recordId, candidate, repeat, role, aux) as
      | { status: 'ok' | 'error' }
      | undefined;
    return row?.status;
  }

  /**
   * Writes a finished call and its scores in one transaction, committed before returning.
   * `replace` lets a retry of an errored call (`--retry-errors`) supersede the old error row.
   */
  recordCall(call: CallRow, scores: ScoreRow[], replace = false): number {
    try {
      return this.recordTx(call, scores, replace);
    } catch (err) {
      throw storeWriteError(err, this.path);
    }
  }

  /**
   * Writes finished calls with their scores in one transaction, committed before returning: all of
   * them or none. The runner's group commit (group-commit.ts): one commit for the calls that finish
   * in the same event-loop turn instead of one each.
   */
  recordCalls(calls: readonly FinishedCall[]): void {
    if (calls.length === 0) return;
    try {
      this.recordManyTx(calls);
    } catch (err) {
      throw storeWriteError(err, this.path);
    }
  }

  /** One call and its scores; the caller holds the transaction. */
  private writeCall(call: CallRow, scores: ScoreRow[], replace: boolean): number {
    if (replace) {
      const old = this.stmts.deleteCall.get(
        call.runId,
        call.recordId,
        call.candidate,
        call.repeat,
        call.role,
        call.aux ?? '',
      ) as { id: number } | undefined;
      if (old) this.stmts.deleteScores.run(old.id);
    }
    const c = call;
    // The columns of insertCall, in order.
    const callId = Number(
      this.stmts.insertCall.run(
        c.runId,
        c.recordId,
        c.candidate,
        c.repeat,
        c.role,
        c.aux ?? '',
        c.status,
        c.output,
        c.toolCallsJson,
        c.finishReason,
        c.inputTokens,
        c.cachedTokens,
        c.cacheWriteTokens ?? null,
        c.outputTokens,
        c.reasoningTokens,
        c.costUsd,
        c.latencyMs,
        c.ttftMs,
        c.queueMs,
        c.backoffMs,
        c.attempts,
        c.errorKind,
        c.errorMessage,
        c.httpStatus,
        c.servedModel,
        c.requestId,
        c.serverMs,
        c.serviceTier,
        c.simulated ? 1 : 0,
        c.startedAt,
        c.finishedAt,
      ).lastInsertRowid,
    );
    for (const s of scores) {
      this.stmts.insertScore.run(
        callId,
        s.scorer,
        s.value,
        s.passed === null ? null : s.passed ? 1 : 0,
        s.detail ?? null,
      );
    }
    return callId;
  }

  /** A stored call's status and output, whatever its role: what judge and router calls resume from. */
  storedCall(
    runId: number,
    recordId: string,
    candidate: string,
    repeat: number,
    role: CallRow['role'],
    aux = '',
  ): { id: number; status: 'ok' | 'error'; output: string | null } | undefined {
    return this.stmts.storedCall.get(runId, recordId, candidate, repeat, role, aux) as never;
  }

  recordBody(runId: number, recordId: string): string | undefined {
    return this.stmts.recordBody.get(runId, recordId) as string | undefined;
  }

  /** Adds or replaces one score of a stored call (scores computed after the call: judges, rescore). */
  upsertScore(callId: number, s: ScoreRow): void {
    this.write(() =>
      this.stmts.upsertScore.run({
        callId,
        scorer: s.scorer,
        value: s.value,
        passed: s.passed === null ? null : s.passed ? 1 : 0,
        detail: s.detail ?? null,
      }),
    );
  }

  /**
   * Forgets a scorer's results on a run so that they are computed afresh: its scores and, for a
   * judge, its judge calls (aux = the scorer's name, or name:order). Returns what was removed.
   */
  forgetScorer(runId: number, scorer: string): { scores: number; judgeCalls: number } {
    return this.immediate(() => {
      const scores = this.db
        .prepare(`DELETE FROM scores WHERE scorer = ? AND call_id IN (SELECT id FROM calls WHERE run_id = ?)`)
        .run(scorer, runId).changes;
      const judgeCalls = this.db
        .prepare(
          `DELETE FROM calls WHERE run_id = ? AND role = 'judge' AND (aux = ? OR aux LIKE ? ESCAPE '\\')`,
        )
        .run(runId, scorer, `${scorer.replace(/[\\%_]/g, (c) => `\\${c}`)}:%`).changes;
      return { scores, judgeCalls };
    });
  }

  /** Replaces the run's stored scorer specs (rescore with new or changed scorers). */
  setRunScorers(runId: number, scorersJson: string): void {
    this.write(() =>
      this.db.prepare('UPDATE runs SET scorers_json = ? WHERE id = ?').run(scorersJson, runId),
    );
  }

  /** Stores a batch about to be created (status 'submitting'); returns its row id. */
  insertBatch(b: NewBatch): number {
    return this.write(() =>
      Number(
        this.stmts.insertBatch.run({
          runId: b.runId,
          candidate: b.candidate,
          token: b.token,
          endpoint: b.endpoint,
          inputFileId: b.inputFileId,
          requestCount: b.requestCount,
          createdAt: b.createdAt,
          customIdsJson: JSON.stringify(b.customIds),
          worstCaseUsd: b.worstCaseUsd ?? null,
        }).lastInsertRowid,
      ),
    );
  }

  updateBatch(id: number, u: BatchUpdate): void {
    this.write(() =>
      this.stmts.updateBatch.run({
        id,
        batchId: u.batchId ?? null,
        status: u.status ?? null,
        completedCount: u.completedCount ?? null,
        failedCount: u.failedCount ?? null,
        finishedAt: u.finishedAt ?? null,
        outputFileId: u.outputFileId ?? null,
        errorFileId: u.errorFileId ?? null,
        collectedAt: u.collectedAt ?? null,
        note: u.note ?? null,
      }),
    );
  }

  /** Every batch of the run, oldest first. */
  runBatches(runId: number): BatchRow[] {
    return this.stmts.runBatches.all(runId) as BatchRow[];
  }

  /** The candidate's batches whose results are not yet call rows: to poll, then collect. */
  openBatches(runId: number, candidate: string): BatchRow[] {
    return this.stmts.openBatches.all(runId, candidate) as BatchRow[];
  }

  recordCount(runId: number): number {
    return this.stmts.recordCount.get(runId) as number;
  }

  runTotals(runId: number): { n: number; errors: number; cost: number } {
    const r = this.stmts.countCalls.get(runId) as { n: number; errors: number | null; cost: number };
    return { n: r.n, errors: r.errors ?? 0, cost: r.cost };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

export interface StoreOptions {
  /** Refuse a path with no file (read commands: a mistyped --db must not become an empty database). */
  mustExist?: boolean;
  /** true: read-only; 'auto': read-only when the file is not writable by this process (read commands). */
  readOnly?: 'auto' | true;
}

export function openStore(path: string, opts: StoreOptions = {}): Store {
  return new Store(path, opts);
}
