/**
 * Local OpenAI-compatible simulator: Chat Completions and Responses (JSON and SSE) on loopback,
 * with seeded answers, latency, prompt-prefix caching and fault injection. Every response carries
 * `x-holdout-simulator: 1`; its models are named `sim-*` and are not real models.
 */
export { type AnswerKey, type AnswerKeyEntry, loadAnswerKey } from './answer.js';
export { runSimulatorCli, type SimCliArgs } from './cli.js';
export type { FaultKind, FaultRule } from './faults.js';
export { DEFAULT_PROFILES, type SimProfile } from './profiles.js';
export { type SimOptions, type SimServer, startSimulator } from './server.js';
export type { SimCallLog, SimStats } from './stats.js';
export type { SimRequest } from './wire/compat.js';
