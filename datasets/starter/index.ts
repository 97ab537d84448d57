/**
 * datasets/starter: what `holdout init` infers from a file. `profileFile` reads it (detect.ts: which
 * format, through that format's own reader) into a bounded profile (profile.ts); `propose` turns the
 * profile into scorers and candidates (propose.ts, json-shape.ts); `renderStarterYaml` writes them
 * as a commented run config (render.ts). Only profileFile touches the disk.
 */
import { detectSource, readStarterRecords, type StarterSource } from './detect.js';
import { addRecord, type DatasetProfile, emptyProfile } from './profile.js';

export { classifyLine, detectSource, SOURCE_LABEL, type StarterSource } from './detect.js';
export { addValue, emptyShape, shapeSchema } from './json-shape.js';
export { addRecord, type DatasetProfile, emptyProfile, TASK_TAG } from './profile.js';
export {
  DEFAULT_MODEL,
  type PriceBook,
  type PriceEntry,
  type ProposedCandidate,
  type ProposedScorer,
  propose,
  type StarterProposal,
  scorerFor,
  siblings,
} from './propose.js';
export { commentText, renderStarterYaml, type StarterDocument } from './render.js';

/** Records looked at by default: enough for label sets and shapes, quick on a large log. */
export const PROFILE_LIMIT = 50_000;

export interface FileProfile {
  source: StarterSource;
  profile: DatasetProfile;
  invalid: number;
  firstInvalid?: string;
  truncated: boolean;
}

/** Detects the format of `path` and profiles its first `limit` records. */
export async function profileFile(path: string, limit = PROFILE_LIMIT): Promise<FileProfile> {
  const source = await detectSource(path);
  const profile = emptyProfile();
  const outcome = await readStarterRecords(path, source, limit, (r) => addRecord(profile, r));
  return { source, profile, ...outcome };
}
