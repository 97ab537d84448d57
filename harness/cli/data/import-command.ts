/**
 * `holdout import`: options as data (declared here so main.ts only registers the command), and the
 * handler: flags → ImportSpec → importToFile. The import itself lives in datasets/import/.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Argv } from 'yargs';
import { formatBytes, MAX_JSON_DEPTH, MAX_JSON_VALUES, MAX_LINE_BYTES } from '../../../datasets/bounds.js';
import {
  COLUMN_MAP_HELP,
  FORMAT_HELP,
  IMPORT_FORMATS,
  type ImportFormat,
  ImportInterrupted,
  importToFile,
  parseColumnMap,
} from '../../../datasets/import/index.js';
import { printableError } from '../../../datasets/printable.js';
import type { Clock } from '../../clock.js';
import { HarnessError } from '../../errors.js';

export interface ImportArgs {
  format: ImportFormat;
  paths?: string[];
  out: string;
  skipInvalid?: boolean;
  redact?: boolean;
  redactPattern?: string[];
  tag?: string[];
  reference: 'none' | 'production';
  output?: string[];
  map?: string[];
  system?: string;
  model?: string;
  metadata?: string[];
  baseUrl?: string;
  pageSize?: number;
  limit?: number;
}

export const IMPORT_USAGE =
  '$0 import <format> [paths..] -o records.jsonl [options]\n\n' +
  'Turns production logs into holdout records (JSONL). Inputs stream (.gz ok; BOM and CRLF fine). ' +
  'The output appears only once the import succeeds, with <out>.import.json beside it ' +
  '(sources with sha256, counts, skipped lines by reason, redaction counts).';

export const IMPORT_EPILOG = [
  `Formats:\n${IMPORT_FORMATS.map((f) => `  ${f}: ${FORMAT_HELP[f]}`).join('\n')}`,
  `csv column map (--map key=column,…; repeatable):\n${Object.entries(COLUMN_MAP_HELP)
    .map(([k, v]) => `  ${k}=COLUMN: ${v}`)
    .join('\n')}\nOther columns are kept in metadata.columns.`,
  'A malformed line stops the import with file:line and the reason (exit 2) and writes nothing; ' +
    "--skip-invalid imports the rest and counts the skipped lines by reason. Ids: the log's own (response " +
    'id, custom_id, stored completion id, csv id column), else h_ + 16 hex of sha256 of the request as ' +
    'canonical JSON. A repeated id keeps its first record; the rest are counted. ' +
    `A line may hold at most ${formatBytes(MAX_LINE_BYTES)} (checked as it is read), JSON nested at most ` +
    `${MAX_JSON_DEPTH} levels deep and ${MAX_JSON_VALUES.toLocaleString('en-US')} values; beyond that it ` +
    'is invalid (line_too_long, json_too_deep, json_too_large).',
  'openai-stored reads OPENAI_API_KEY (and OPENAI_BASE_URL or --base-url), redacts by default ' +
    '(--no-redact to keep text as is) and resumes an interrupted import from <out>.import-state.json ' +
    'when rerun with the same options.',
  'Memory stays flat with the input size, except batch (a map of the --output lines) and the set of ids ' +
    '(16 bytes per record).',
].join('\n\n');

/** The options of `holdout import`, for buildCli. */
export function importOptions(c: Argv) {
  return c
    .usage(IMPORT_USAGE)
    .positional('format', { choices: IMPORT_FORMATS, describe: 'source format' })
    .positional('paths', { type: 'string', array: true, describe: 'input files (none for openai-stored)' })
    .option('out', {
      alias: 'o',
      type: 'string',
      demandOption: true,
      describe: 'output JSONL (.gz to compress)',
    })
    .option('skip-invalid', {
      type: 'boolean',
      describe: 'import the valid lines; count the invalid ones by reason instead of stopping',
    })
    .option('redact', {
      type: 'boolean',
      describe:
        'replace PII with typed placeholders (default: off; on for openai-stored, --no-redact to disable)',
    })
    .option('redact-pattern', {
      type: 'string',
      array: true,
      describe: 'extra redaction pattern NAME=REGEX (repeatable); implies --redact',
    })
    .option('tag', { type: 'string', array: true, describe: 'add tag k=v to every record (repeatable)' })
    .option('reference', {
      choices: ['none', 'production'] as const,
      default: 'none' as const,
      describe: 'production: the logged answer becomes the reference output',
    })
    .option('output', {
      type: 'string',
      array: true,
      describe: 'batch: output file(s) to join by custom_id (repeatable)',
    })
    .option('map', {
      type: 'string',
      array: true,
      describe:
        'csv: column map key=column, keys prompt, system, expected, label, id, timestamp, model, tag:NAME ' +
        '(see below), e.g. prompt=question,label=category,tag:task=kind',
    })
    .option('system', {
      type: 'string',
      describe: 'csv: the system prompt of every record: TEXT, or @FILE for the contents of a file',
    })
    .option('model', { type: 'string', describe: 'openai-stored: only completions of this model' })
    .option('metadata', {
      type: 'string',
      array: true,
      describe: 'openai-stored: only completions with metadata k=v (repeatable; all must match)',
    })
    .option('base-url', {
      type: 'string',
      describe: 'openai-stored: API base URL (default: OPENAI_BASE_URL)',
    })
    .option('page-size', { type: 'number', describe: 'openai-stored: completions per list call (1–100)' })
    .option('limit', { type: 'number', describe: 'openai-stored: stop after N completions' })
    .epilog(IMPORT_EPILOG);
}

function usage(message: string): HarnessError {
  return new HarnessError('USAGE', message, { hint: 'run `holdout import --help` for usage' });
}

/** `k=v` flags to an object; the flag is named in the error. */
export function parsePairs(values: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw usage(`${flag} takes key=value, got "${v}"`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

export interface ImportCommandIo {
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  clock?: Clock;
  signal?: AbortSignal;
}

/** Runs `holdout import`; returns the exit code (HarnessErrors propagate to main: exit 2). */
export async function importCommand(a: ImportArgs, io: ImportCommandIo): Promise<number> {
  const patterns = Object.entries(parsePairs(a.redactPattern, '--redact-pattern')).map(([name, regex]) => ({
    name,
    regex,
  }));
  if (a.redact === false && patterns.length > 0)
    throw usage('--redact-pattern needs redaction: drop --no-redact');
  for (const [flag, v] of [
    ['--page-size', a.pageSize],
    ['--limit', a.limit],
  ] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1))
      throw usage(`${flag} must be an integer from 1 up`);
  }
  if (a.pageSize !== undefined && a.pageSize > 100)
    throw usage('--page-size must be at most 100 (the API limit)');
  const metadata = a.metadata ? parsePairs(a.metadata, '--metadata') : undefined;
  try {
    await importToFile(
      {
        format: a.format,
        paths: a.paths ?? [],
        out: a.out,
        skipInvalid: a.skipInvalid ?? false,
        redact: patterns.length > 0 ? true : a.redact,
        redactPatterns: patterns,
        tags: parsePairs(a.tag, '--tag'),
        reference: a.reference,
        outputs: a.output ?? [],
        ...(a.map ? { map: parseColumnMap(a.map) } : {}),
        ...(a.system !== undefined ? { system: readSystemPrompt(a.system) } : {}),
        ...(a.model !== undefined ? { model: a.model } : {}),
        ...(metadata ? { metadata } : {}),
        ...(a.baseUrl !== undefined ? { baseURL: a.baseUrl } : {}),
        ...(a.pageSize !== undefined ? { pageSize: a.pageSize } : {}),
        ...(a.limit !== undefined ? { maxRecords: a.limit } : {}),
      },
      { stderr: io.stderr, env: io.env, clock: io.clock, signal: io.signal },
    );
  } catch (err) {
    if (err instanceof ImportInterrupted) {
      io.stderr.write(`${err.message}\n`);
      return 130;
    }
    throw err instanceof HarnessError ? printableError(err) : err;
  }
  return 0;
}

/**
 * `--system TEXT|@FILE`: the text as given, or a file's contents (UTF-8; a BOM and the final line
 * breaks dropped, as `$(cat FILE)` would). A missing, unreadable or empty file is a usage error.
 */
export function readSystemPrompt(arg: string): string {
  if (!arg.startsWith('@')) {
    if (arg.trim() === '') throw usage('--system is empty: give the prompt text, or @FILE');
    return arg;
  }
  const path = arg.slice(1);
  if (path === '') throw usage('--system @ needs a file name, e.g. --system @prompts/system.txt');
  let bytes: Buffer;
  try {
    if (!statSync(path).isFile()) throw usage(`--system ${arg}: ${path} is not a file`);
    // A system prompt goes into every record; one over the line limit would make them all unreadable.
    if (statSync(path).size > MAX_LINE_BYTES)
      throw usage(`--system ${arg}: ${path} is larger than ${formatBytes(MAX_LINE_BYTES)}`);
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof HarnessError) throw err;
    throw usage(`--system ${arg}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  let text: string;
  try {
    // Drops a BOM; `fatal` refuses what is not UTF-8 instead of writing U+FFFD into every record.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw usage(`--system ${arg}: ${path} is not UTF-8 text`);
  }
  text = text.replace(/(\r?\n)+$/, '');
  if (text.trim() === '') throw usage(`--system ${arg}: ${path} is empty`);
  return text;
}
