// MCAP chunk compression. Writing: zstd through @foxglove/wasm-zstd (zstd compiled to WebAssembly, shipped
// inside the package: nothing is built or downloaded at install), or none. Reading: @mcap/support's
// handlers, so a recording re-compressed by other MCAP tools (lz4, bz2) reads back too. The WebAssembly is
// loaded on first use, not when a launch file (which names the compression) is read.
import type { DecompressHandlers } from '@mcap/core';

export const CHUNK_COMPRESSIONS = ['zstd', 'none'] as const;
export type ChunkCompression = (typeof CHUNK_COMPRESSIONS)[number];
export const DEFAULT_CHUNK_COMPRESSION: ChunkCompression = 'zstd';

/**
 * zstd level 1: on 256 kB chunks of the demo's recording it shrinks them 7.5x in about 4 ms each, more than
 * zstd's default level 3 does (6.6x); levels 15-19 reach 9.5x but take 80-150 ms a chunk, which would stall
 * a live run's 100 ms control tick.
 */
const ZSTD_LEVEL = 1;

export type CompressChunk = (chunk: Uint8Array) => { compression: string; compressedData: Uint8Array };

/** McapWriter's compressChunk for a compression (undefined: chunks stored as they are). */
export async function chunkCompressor(kind: ChunkCompression): Promise<CompressChunk | undefined> {
  if (kind === 'none') return undefined;
  const zstd = await import('@foxglove/wasm-zstd');
  await zstd.isLoaded;
  return (chunk) => ({ compression: 'zstd', compressedData: zstd.compress(chunk, ZSTD_LEVEL) });
}

/** McapIndexedReader's decompressHandlers: zstd, lz4 and bz2, loaded once. */
export async function decompressHandlers(): Promise<DecompressHandlers> {
  const { loadDecompressHandlers } = await import('@mcap/support');
  return loadDecompressHandlers();
}
