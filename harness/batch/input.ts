import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiStyle } from '../../datasets/record.js';

export type BatchEndpoint = '/v1/chat/completions' | '/v1/responses';

export const ENDPOINT_OF: Readonly<Record<ApiStyle, BatchEndpoint>> = {
  chat: '/v1/chat/completions',
  responses: '/v1/responses',
};

export interface BatchLimits {
  /** Requests per input file. */
  maxRequests: number;
  /** Bytes per input file. */
  maxBytes: number;
}

/** The Batch API's limits per input file: 50,000 requests and 200 MB (counted as 10^6 bytes, to be safe). */
export const BATCH_LIMITS: Readonly<BatchLimits> = { maxRequests: 50_000, maxBytes: 200_000_000 };

/** One line of a batch input file, newline included. */
export function inputLine(customId: string, api: ApiStyle, body: Record<string, unknown>): string {
  return `${JSON.stringify({ custom_id: customId, method: 'POST', url: ENDPOINT_OF[api], body })}\n`;
}

const FLUSH_BYTES = 1 << 20;

/**
 * A batch input file being written to disk, so that memory stays flat however large the run: lines
 * are buffered up to 1 MB, then appended. `fits` says whether one more line keeps it within the limits.
 */
export class InputFile {
  readonly path: string;
  readonly customIds: string[] = [];
  bytes = 0;
  private fd: number | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;

  constructor(dir: string, name: string) {
    this.path = join(dir, name);
    this.fd = openSync(this.path, 'w');
  }

  get count(): number {
    return this.customIds.length;
  }

  /** An empty file takes any line: a single request over the byte limit is the provider's to refuse. */
  fits(lineBytes: number, limits: BatchLimits): boolean {
    return this.count === 0 || (this.count < limits.maxRequests && this.bytes + lineBytes <= limits.maxBytes);
  }

  add(customId: string, line: string, lineBytes: number): void {
    this.customIds.push(customId);
    this.bytes += lineBytes;
    this.pending.push(line);
    this.pendingBytes += lineBytes;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
  }

  private flush(): void {
    if (this.pending.length === 0 || this.fd === undefined) return;
    writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }
}
