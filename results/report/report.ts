/**
 * results/report/: the report model of a run, built from the database alone (reports never
 * recompute a call). Aggregation happens in SQL, a GROUP BY per figure family, never a query per
 * call, so a run of a million calls reports in seconds; percentiles come from values plucked per
 * candidate and sorted in JS.
 *
 *   types.ts      the RunReport / TrendReport shapes every renderer reads
 *   queries.ts    the SQL;  aggregate.ts  sums → figures
 *   build.ts      buildReport (per candidate, per slice, cost by role)
 *   baseline.ts   --baseline: paired differences and flips, on compare's pairing (results/pairing/)
 *   labels.ts     per-class metrics and judge agreement;  trend.ts  buildTrend;  notes.ts  caveats
 *   grades.ts     reviewers' grades (`holdout view`): the human-graded column, human labels for agreement
 *   records.ts    the evidence: runs newest first, one record with its calls (`holdout runs`, `show`, view)
 *   prompt.ts     a stored record read for people: turns, last user turn, reference as one line
 *   projection.ts --project: the frame (strata, volume) and the figures at the production mix
 *
 * May import: results/store, results/stats, results/pairing, scorers (label extraction),
 * datasets/record.ts (a record's turns), harness/errors.
 * Never results/render (which imports this) nor results/compare|route.
 */
export { bootstrapResamples, BOOTSTRAP_SEED, MAX_RESAMPLES } from './baseline.js';
export { buildReport } from './build.js';
export { simulatedNotice } from './notes.js';
export { buildTrend, type TrendPoint, type TrendReport } from './trend.js';
export type * from './projection.js';
export { projectPair } from './projection.js';
export type * from './types.js';
