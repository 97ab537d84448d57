import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checkDataset, readRecords } from '../../datasets/jsonl.js';
import { tempDir } from '../support/cli.js';

const line = (id: string) =>
  JSON.stringify({ id, request: { messages: [{ role: 'user', content: `q ${id}` }] } });

async function ids(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const r of readRecords(path)) out.push(r.record.id);
  return out;
}

describe('JSONL records', () => {
  it('tolerates a BOM, CRLF and blank lines, and reads gzip', async () => {
    const dir = tempDir();
    const plain = join(dir, 'a.jsonl');
    writeFileSync(plain, `\uFEFF${line('a')}\r\n\r\n${line('b')}\r\n`);
    expect(await ids(plain)).toEqual(['a', 'b']);
    const gz = join(dir, 'a.jsonl.gz');
    writeFileSync(gz, gzipSync(`${line('x')}\n${line('y')}\n`));
    expect(await ids(gz)).toEqual(['x', 'y']);
    expect((await checkDataset(gz)).count).toBe(2);
  });

  it('defaults tags and api, and hashes the file so a resume can tell data changed', async () => {
    const dir = tempDir();
    const p = join(dir, 'a.jsonl');
    writeFileSync(p, `${line('a')}\n`);
    const [r] = await (async () => {
      const out = [];
      for await (const x of readRecords(p)) out.push(x);
      return out;
    })();
    expect(r!.record.tags).toEqual({});
    expect(r!.record.api).toBe('chat');
    const h1 = (await checkDataset(p)).hash;
    writeFileSync(p, `${line('b')}\n`);
    expect((await checkDataset(p)).hash).not.toBe(h1);
  });

  it('gathers every bad line with file, line and reason; duplicates and empty files too', async () => {
    const dir = tempDir();
    const p = join(dir, 'bad.jsonl');
    writeFileSync(
      p,
      [line('a'), '{"id": "b", "request": {"messages": [] }', line('a'), '{"id": 3}', '[]'].join('\n'),
    );
    const err = await checkDataset(p).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toContain(`${p}:2: invalid JSON`);
    expect(msg).toContain(`${p}:3: duplicate id "a" (first on line 1)`);
    expect(msg).toMatch(new RegExp(`${p}:4: not a holdout record: id: .*request`));
    expect(msg).toContain(`${p}:5: not a holdout record`);
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '\n\n');
    await expect(checkDataset(empty)).rejects.toThrow(/has no records/);
    await expect(checkDataset(join(dir, 'missing.jsonl'))).rejects.toThrow(/cannot read dataset .*ENOENT/);
  });

  it('names a line that is not UTF-8 instead of reading it as U+FFFD', async () => {
    const dir = tempDir();
    const p = join(dir, 'latin1.jsonl');
    const good = `${line('a')}\n`;
    // "café" in Latin-1: 0xE9 is not a UTF-8 sequence on its own.
    const before = '{"id": "b", "request": {"messages": [{"role": "user", "content": "caf';
    const bad = Buffer.concat([Buffer.from(before), Buffer.from([0xe9]), Buffer.from('"}]}}\n')]);
    writeFileSync(p, Buffer.concat([Buffer.from(good), bad]));
    // Bytes are counted from 1 within the line: the bad one follows the prefix.
    await expect(checkDataset(p)).rejects.toThrow(`${p}:2: invalid UTF-8 at byte ${before.length + 1}`);
  });
});
