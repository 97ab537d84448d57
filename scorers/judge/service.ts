/**
 * The contract between model-graded scorers and the run that hosts them: what a judge scorer may
 * ask of the run (harness/run/judge-service.ts implements it). Kept apart from judge.ts so that the
 * scorer types can name it without importing the judges themselves.
 */

/** What a judge scorer needs from the run; the runner provides it (harness/run/judge-service.ts). */
export interface JudgeService {
  /** Whether the run declares this judge. */
  has(judge: string): boolean;
  /**
   * One judge call, keyed so that a rerun reuses a stored answer instead of paying twice.
   * Resolves to the judge's text, or rejects with the judge call's error.
   */
  ask(judge: string, request: JudgeRequest, key: JudgeCallKey): Promise<string>;
  /** The stored output of another candidate on the same record and repeat (pairwise baselines). */
  outputOf(candidate: string, recordId: string, repeat: number): string | undefined;
  /** Whether the run has this candidate (a pairwise baseline must be one). */
  hasCandidate(candidate: string): boolean;
}

export interface JudgeRequest {
  system: string;
  user: string;
  /** Structured output: a JSON Schema the reply must follow, named so that logs say what asked. */
  schema: { name: string; schema: Record<string, unknown> };
}

export interface JudgeCallKey {
  recordId: string;
  /** The candidate whose output is judged. */
  candidate: string;
  repeat: number;
  /** The scorer's name, plus the order for a pairwise judge: tells several judge calls apart. */
  aux: string;
}

/** Where the judged output comes from; the runner adds it to every ScoreInput of a stored call. */
export interface JudgedCall {
  candidate: string;
  repeat: number;
}
