/**
 * `holdout init [file]`: writes a commented starter run config, inferred from a file of records or
 * a production log when one is given (datasets/starter), and prints the next steps. Never
 * overwrites a file without --force.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import type { Argv } from 'yargs';
import { printable, printableError, printableLines } from '../../../datasets/printable.js';
import {
  DEFAULT_MODEL,
  type FileProfile,
  type PriceBook,
  profileFile,
  PROFILE_LIMIT,
  propose,
  renderStarterYaml,
  SOURCE_LABEL,
  type StarterDocument,
  type StarterProposal,
} from '../../../datasets/starter/index.js';
import type { Clock } from '../../clock.js';
import { resolveConfig } from '../../config.js';
import { HarnessError } from '../../errors.js';
import { PRICE_TABLE, PRICE_TABLE_DATE, priceFamily } from '../../providers/pricing.js';
import { usageError } from '../common.js';

export interface InitArgs {
  file?: string;
  out: string;
  force?: boolean;
  suite?: string;
  limit?: number;
}

export const INIT_USAGE =
  '$0 init [records-or-log] [-o holdout.yaml] [--force]\n\n' +
  'Writes a commented starter run config. From a file (holdout records, or a chat/responses log, a ' +
  'Batch input file or messages JSONL as `holdout import` reads them) it infers the API style, the ' +
  'tags, a scorer per value of the `task` tag (label sets from reference labels, a JSON schema from ' +
  'reference JSON, text matching otherwise) and the candidates: the logged model as the baseline, ' +
  'with a cheaper and a newer sibling from the price table marked SUGGESTION.';

/** The options of `holdout init`, for buildCli. */
export function initOptions(c: Argv) {
  return c
    .usage(INIT_USAGE)
    .positional('file', { type: 'string', describe: 'records or a production log (JSONL, .gz ok)' })
    .option('out', {
      alias: 'o',
      type: 'string',
      default: 'holdout.yaml',
      describe: 'where to write the config (- for stdout)',
    })
    .option('force', { type: 'boolean', describe: 'overwrite --out if it exists' })
    .option('suite', { type: 'string', describe: 'the suite name (default: from the file name)' })
    .option('limit', {
      type: 'number',
      default: PROFILE_LIMIT,
      describe: 'records to look at (the first ones)',
    });
}

export interface InitIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  clock: Pick<Clock, 'isoNow'>;
}

/** The bundled price table as the proposal reads it. */
export function bundledPrices(): PriceBook {
  const entry = (model: string) => {
    const p = PRICE_TABLE[model]!.standard;
    return { model, input: p.input, output: p.output };
  };
  return {
    list: Object.keys(PRICE_TABLE).map(entry),
    lookup(model) {
      const family = priceFamily(model);
      return family === undefined ? undefined : entry(family);
    },
    date: PRICE_TABLE_DATE,
  };
}

/** Runs `holdout init`; returns the exit code (HarnessErrors propagate to main: exit 2). */
export async function initCommand(a: InitArgs, io: InitIo): Promise<number> {
  try {
    return await init(a, io);
  } catch (err) {
    throw err instanceof HarnessError ? printableError(err) : err;
  }
}

async function init(a: InitArgs, io: InitIo): Promise<number> {
  if (a.limit !== undefined && !(Number.isInteger(a.limit) && a.limit >= 1)) {
    throw usageError('--limit must be an integer from 1 up', 'init');
  }
  const toStdout = a.out === '-';
  const outPath = resolve(toStdout ? 'holdout.yaml' : a.out);
  if (!toStdout) checkTarget(a.out, outPath, a.force === true);
  const configDir = dirname(outPath);
  const prices = bundledPrices();
  let doc: StarterDocument;
  let fp: FileProfile | undefined;
  if (a.file !== undefined) {
    const filePath = resolve(a.file);
    if (!toStdout && filePath === outPath)
      throw usageError(`--out ${a.out} is the input file: choose another`, 'init');
    fp = await profileFile(a.file, a.limit);
    if (fp.profile.records === 0) {
      throw new HarnessError('DATASET_EMPTY', `${a.file} has no records holdout can read`, {
        hint: fp.firstInvalid ? `the first bad line: ${fp.firstInvalid}` : 'is the file empty?',
      });
    }
    const stem = fileStem(a.file);
    const fromLog = fp.source !== 'records';
    const pathFromConfig = (p: string) => relative(configDir, p).split(sep).join('/') || '.';
    doc = {
      createdAt: io.clock.isoNow(),
      from: {
        path: a.file,
        source: fp.source,
        records: fp.profile.records,
        invalid: fp.invalid,
        truncated: fp.truncated,
      },
      suite: a.suite ?? suiteName(stem),
      // A log becomes records beside the config on the first run; records are used where they are.
      dataset: fromLog
        ? pathFromConfig(resolve(configDir, `${stem}.records.jsonl`))
        : pathFromConfig(filePath),
      ...(fromLog && fp.source !== 'records'
        ? { import: { format: fp.source, paths: [pathFromConfig(filePath)] } }
        : {}),
      profile: fp.profile,
      proposal: propose(fp.profile, prices),
      priceTable: `Suggested siblings come from the bundled price table (${prices.date}); a config's price: always wins.`,
    };
  } else {
    doc = {
      createdAt: io.clock.isoNow(),
      suite: a.suite ?? 'my-suite',
      dataset: 'records.jsonl',
      proposal: templateProposal(prices),
    };
  }
  const yaml = renderStarterYaml(doc);
  const problems = configProblems(yaml, outPath);
  if (toStdout) io.stdout.write(yaml);
  else writeConfig(a.out, yaml, a.force === true);
  const c = doc.proposal.candidates.length;
  const s = doc.proposal.scorers.length;
  if (fp) io.stderr.write(`read ${printable(a.file!)}: ${SOURCE_LABEL[fp.source]}\n`);
  if (!toStdout) {
    io.stderr.write(
      `wrote ${printable(a.out)}: ${c} candidate${c === 1 ? '' : 's'}, ${s} scorer${s === 1 ? '' : 's'}\n`,
    );
  }
  if (problems)
    io.stderr.write(`note: the config needs your attention before it runs:\n${printable(problems)}\n`);
  const datasetFromCwd = relative(process.cwd(), resolve(configDir, doc.dataset)) || doc.dataset;
  io.stderr.write(nextSteps(doc, toStdout ? '<config>' : a.out, a.file, datasetFromCwd, fp));
  return 0;
}

/** The file must not exist (unless --force) and its folder must. */
function checkTarget(out: string, outPath: string, force: boolean): void {
  if (out === '') throw usageError('--out takes a file path', 'init');
  if (existsSync(outPath)) {
    if (statSync(outPath).isDirectory())
      throw usageError(`--out ${out} is a directory: give a file path`, 'init');
    if (!force) {
      throw new HarnessError('USAGE', `${out} already exists: not overwritten`, {
        hint: 'pass --force to replace it, or --out another path',
      });
    }
  }
  const folder = dirname(outPath);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw usageError(`--out ${out}: the folder ${folder} does not exist`, 'init');
  }
}

function writeConfig(out: string, yaml: string, force: boolean): void {
  try {
    // `wx` refuses a file that appeared since the check; a config holds no secret (keys stay in env vars).
    writeFileSync(out, yaml, { flag: force ? 'w' : 'wx', mode: 0o644 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new HarnessError(
      'USAGE',
      `cannot write ${out}: ${code === 'EEXIST' ? 'it already exists' : code}`,
      {
        cause: err,
        hint: code === 'EEXIST' ? 'pass --force to replace it' : 'check the path and its permissions',
      },
    );
  }
}

/** What `holdout run` would say about the config (unpriced models, mostly); empty when it loads. */
function configProblems(yaml: string, path: string): string {
  try {
    resolveConfig(parse(yaml), path);
    return '';
  } catch (err) {
    if (err instanceof HarnessError) return err.message;
    throw err;
  }
}

/** `logs/prod.jsonl.gz` → `prod`. */
function fileStem(path: string): string {
  return (
    basename(path)
      .replace(/\.gz$/i, '')
      .replace(/\.(jsonl|ndjson|json|txt)$/i, '') || 'records'
  );
}

function suiteName(stem: string): string {
  const s = stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  return s === '' ? 'my-suite' : s;
}

/** Without data: the default model and its siblings, no scorer yet. */
function templateProposal(prices: PriceBook): StarterProposal {
  const base = prices.lookup(DEFAULT_MODEL)!;
  const profile = {
    records: 1,
    apis: { values: new Map([['chat', 1]]), overflow: false },
    models: { values: new Map([[DEFAULT_MODEL, 1]]), overflow: false },
    tags: new Map(),
    tasks: new Map(),
  };
  const p = propose(profile, prices);
  p.candidates[0]!.why = `SUGGESTION: a starting point (${base.model}); put your production model here`;
  p.scorerNotes.push(
    'Add a scorer per task once the records have references: e.g. - kind: label, match: { task: classify }, labels: [...]',
  );
  return p;
}

/** Paths in the steps are as the user typed them, or relative to the working directory. */
function nextSteps(
  doc: StarterDocument,
  config: string,
  file: string | undefined,
  dataset: string,
  fp: FileProfile | undefined,
): string {
  const q = (s: string) => (/^[\w./@:+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const lines = ['', 'next steps:'];
  let n = 1;
  const step = (s: string) => lines.push(`  ${n++}. ${s}`);
  step(`review ${config}: lines marked SUGGESTION are guesses; the comments say what each was inferred from`);
  if (!fp) {
    step(
      'turn production logs into records: holdout import chat-log logs.jsonl -o records.jsonl (docs/import.md)',
    );
  } else if (doc.import) {
    step(
      `import the log (or let the first run do it): holdout import ${doc.import.format} ${q(file ?? '')} --reference production -o ${q(dataset)}`,
    );
  }
  if (fp && fp.profile.records >= 2000) {
    step(
      `draw a holdout sample instead of replaying everything: holdout sample ${q(dataset)} --size 1000 --seed 1 --stratify task -o holdout.jsonl, then point dataset at it`,
    );
  }
  step(`estimate the cost, no call made: holdout run ${q(config)} --dry-run`);
  step(`run it: export OPENAI_API_KEY=…; holdout run ${q(config)}`);
  step('read the result: holdout report --format html --out report.html');
  return `${printableLines(lines.join('\n'))}\n`;
}
