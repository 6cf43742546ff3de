// The launch file's `record:` and `foxglove:` keys: whether and how the run is recorded to run.mcap, and
// whether it serves its channels live to Foxglove over the Foxglove WebSocket protocol.
import { z } from 'zod';
import { CHUNK_COMPRESSIONS, DEFAULT_CHUNK_COMPRESSION } from './compression.js';
import type { RecordingOptions } from './writer.js';

/** `record: true` (the default), `false`, or `{ compression: zstd | none }`. */
export const RecordSchema = z
  .union([z.boolean(), z.object({ compression: z.enum(CHUNK_COMPRESSIONS).default(DEFAULT_CHUNK_COMPRESSION) }).strict()], {
    error: `true, false or { compression: ${CHUNK_COMPRESSIONS.join(' | ')} }`,
  })
  .default(true);

/** The recorder's options, null: not recorded. */
export function resolveRecord(value: z.output<typeof RecordSchema>): RecordingOptions | null {
  if (value === false) return null;
  return value === true ? { compression: DEFAULT_CHUNK_COMPRESSION } : value;
}

/** 8765 is Foxglove's usual port, but the dashboard's default too. */
export const DEFAULT_FOXGLOVE_PORT = 8766;

export const FoxgloveLiveSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** The address to listen on: loopback by default (the protocol has no authentication). */
    host: z.string().min(1).default('127.0.0.1'),
    /** 0: any free port (printed at start-up). */
    port: z.number().int().min(0).max(65535).default(DEFAULT_FOXGLOVE_PORT),
  })
  .strict();

export interface FoxgloveLiveConfig {
  host: string;
  port: number;
}

/** The live server's address, null: none (no block, or enabled: false). */
export function resolveFoxgloveLive(block: z.output<typeof FoxgloveLiveSchema> | undefined): FoxgloveLiveConfig | null {
  return block?.enabled ? { host: block.host, port: block.port } : null;
}
