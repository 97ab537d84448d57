/**
 * The baseline the pipeline is measured against: the official SDK client alone, in a plain loop of
 * `concurrency` workers, making the same requests as the pipeline (buildRequest of the same
 * synthetic records) and reading every answer to its end. No store, no scorer, no retries.
 *
 * `transport` picks what the SDK sends with: `default` is what a user's own script gets (Node's
 * global fetch), `holdout` the pooled transport holdout's clients use (harness/providers/transport.ts,
 * without the SSE guard, which counts as holdout's own work).
 */
import OpenAI from 'openai';
import type { HoldoutRecord } from '../datasets/record.js';
import { buildRequest } from '../harness/providers/request.js';
import { pooledFetch } from '../harness/providers/transport.js';
import { syntheticRecord } from './common.js';

export type BareTransport = 'default' | 'holdout';

export interface BareOptions {
  baseURL: string;
  transport: BareTransport;
  concurrency: number;
  stream: boolean;
}

export function bareClient(o: Pick<BareOptions, 'baseURL' | 'transport'>): OpenAI {
  return new OpenAI({
    baseURL: o.baseURL,
    apiKey: 'bench',
    maxRetries: 0,
    logLevel: 'off',
    ...(o.transport === 'holdout' ? { fetch: pooledFetch } : {}),
  });
}

/**
 * Makes `count` calls to `models` in turn (record i goes to models[i % models.length]), records
 * named `${prefix}-${i}`; returns how many failed.
 */
export async function bareLoop(
  client: OpenAI,
  o: BareOptions,
  models: readonly string[],
  count: number,
  prefix: string,
  recordOf: (i: number) => number = (i) => i,
): Promise<number> {
  let errors = 0;
  const one = async (i: number) => {
    const { id, tags, request } = syntheticRecord(prefix, recordOf(i));
    const record = { id, tags, api: 'chat', request } as HoldoutRecord;
    const { body } = buildRequest(record, {
      model: models[i % models.length]!,
      api: 'chat',
      params: {},
      stream: o.stream,
    });
    try {
      if (o.stream) {
        const stream = await client.chat.completions.create(
          body as unknown as OpenAI.ChatCompletionCreateParamsStreaming,
        );
        let finished = false;
        for await (const chunk of stream) if (chunk.choices[0]?.finish_reason) finished = true;
        if (!finished) errors++;
      } else {
        const completion = await client.chat.completions.create(
          body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
        );
        if (!completion.choices[0]?.finish_reason) errors++;
      }
    } catch {
      errors++;
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, count) }, worker));
  return errors;
}
