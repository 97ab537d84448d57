/**
 * The house's rules, checked on the source (ARCHITECTURE.md): which folder may import which, so that
 * data flows one way (records → calls → scores → rows → reports) and the layers of results/ stack
 * render ← report/compare/route ← pairing ← stats/store. Import cycles are refused by the linter
 * (biome's noImportCycles, type imports included); this test guards the direction between folders.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../harness/paths.js';

const root = packageRoot();
const SOURCE_DIRS = ['harness', 'results', 'scorers', 'datasets'];
/** Leaf utilities every folder may use: they import nothing of the project. */
const LEAVES = ['harness/errors.ts', 'harness/clock.ts', 'harness/random.ts', 'harness/paths.ts'];

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import of every source file, as repository paths of .ts files. */
function imports(): { from: string; to: string }[] {
  const out: { from: string; to: string }[] = [];
  for (const file of SOURCE_DIRS.flatMap(sources)) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts');
      out.push({ from: file, to: relative('.', target) });
    }
  }
  return out;
}

const under = (path: string, folder: string) => path.startsWith(`${folder}/`) || path === folder;
const isLeaf = (path: string) => LEAVES.includes(path);

/** Folder → the folders (or leaf files) it may import besides itself and the leaves. */
const ALLOWED: [folder: string, may: string[]][] = [
  ['datasets', []],
  ['scorers', ['datasets']],
  ['results/stats', []],
  ['results/store', []],
  ['results/pairing', ['results/store']],
  ['results/export', ['results/store']],
  ['results/report', ['results/store', 'results/stats', 'results/pairing', 'scorers', 'datasets/record.ts']],
  ['results/compare', ['results/store', 'results/stats', 'results/pairing', 'results/report']],
  [
    'results/route',
    ['results/store', 'results/stats', 'results/pairing', 'results/report', 'results/compare'],
  ],
  ['results/render', ['results/stats', 'results/report', 'results/compare', 'results/route']],
  [
    'results/view',
    ['results/store', 'results/report', 'results/compare', 'results/render', 'datasets/record.ts'],
  ],
];

describe('architecture', () => {
  const all = imports();

  it('finds the imports it checks', () => {
    expect(all.length).toBeGreaterThan(300);
    for (const { to } of all) expect(statSync(join(root, to)).isFile(), to).toBe(true);
  });

  it('leaf utilities import nothing of the project', () => {
    expect(all.filter((e) => isLeaf(e.from)).map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it.each(ALLOWED)('%s imports only %j (and the leaf utilities)', (folder, may) => {
    const bad = all
      .filter((e) => under(e.from, folder))
      .filter((e) => !under(e.to, folder) && !isLeaf(e.to) && !may.some((m) => under(e.to, m)))
      .map((e) => `${e.from} -> ${e.to}`);
    expect(bad).toEqual([]);
  });

  it('results/ never imports the harness beyond its leaf utilities', () => {
    const bad = all.filter((e) => under(e.from, 'results') && under(e.to, 'harness') && !isLeaf(e.to));
    expect(bad.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('the harness renders only in its command line', () => {
    const bad = all.filter(
      (e) => under(e.from, 'harness') && !under(e.from, 'harness/cli') && under(e.to, 'results/render'),
    );
    expect(bad.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('only the command line imports the command line', () => {
    const bad = all.filter((e) => under(e.to, 'harness/cli') && !under(e.from, 'harness/cli'));
    expect(bad.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('no folder holds more than 15 source files, and results/ itself at most 3', () => {
    const counts = new Map<string, number>();
    for (const f of SOURCE_DIRS.flatMap(sources)) counts.set(dirname(f), (counts.get(dirname(f)) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 15)).toEqual([]);
    expect(counts.get('results') ?? 0).toBeLessThanOrEqual(3);
  });
});
