// Training checkpoints: every weight, the optimisers' moments, value normalisation and counters, in one
// JSON file replaced atomically (write to a temporary file, then rename), so a crash or Ctrl-C at any
// moment leaves the previous checkpoint intact.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ValueNormalizer } from './buffer.js';
import { tf } from './tf.js';

export const CHECKPOINT_FORMAT = 'swarmguard-checkpoint/1';

export interface SavedTensor {
  shape: number[];
  data: string; // base64 of float32 little-endian
}

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  /** Hash of the training configuration: a checkpoint resumes only the run it came from. */
  configHash: string;
  config: Record<string, unknown>;
  iteration: number;
  envSteps: number;
  wallSeconds: number;
  valueNorm: { mean: number; meanSq: number; debias: number };
  /** Further value normalisations by name (BATPAL's reference critic); absent when a trainer has none. */
  valueNorms?: Record<string, { mean: number; meanSq: number; debias: number }>;
  networks: Record<string, Record<string, SavedTensor>>;
  optimizers: Record<string, SavedTensor[]>;
  /** Learning-curve rows so far (see curves.ts). */
  curve: Record<string, number | null>[];
}

/** A stable hash of a configuration (key order does not matter). */
export function configHash(config: unknown): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
      : v;
  return createHash('sha256').update(JSON.stringify(canonical(config))).digest('hex').slice(0, 16);
}

export function saveTensor(t: tf.Tensor): SavedTensor {
  const data = Float32Array.from(t.dataSync());
  return { shape: t.shape, data: Buffer.from(data.buffer).toString('base64') };
}

export function loadTensorData(s: SavedTensor): Float32Array {
  const buf = Buffer.from(s.data, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** Copies saved values into variables, checking names and shapes. */
export function restoreVariables(source: string, saved: Record<string, SavedTensor>, targets: [string, tf.Variable][]): void {
  for (const [name, v] of targets) {
    const s = saved[name];
    if (!s) throw new Error(`${source}: missing weight '${name}'`);
    if (s.shape.join('x') !== v.shape.join('x')) {
      throw new Error(`${source}: weight '${name}' has shape [${s.shape}] but the network needs [${v.shape}]`);
    }
    const t = tf.tensor(loadTensorData(s), s.shape);
    v.assign(t);
    t.dispose();
  }
}

export function writeCheckpoint(path: string, ck: Checkpoint): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(ck));
  renameSync(tmp, path);
}

export function readCheckpoint(path: string): Checkpoint | null {
  if (!existsSync(path)) return null;
  const ck = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  if (ck.format !== CHECKPOINT_FORMAT) throw new Error(`${path}: not a swarmguard checkpoint (format ${String(ck.format)})`);
  return ck;
}

/** What a trainer checkpoints: named networks (weights by path) and optimisers, plus counters. */
export interface TrainerState {
  identity: Record<string, unknown>;
  config: Record<string, unknown>;
  iteration: number;
  envSteps: number;
  valueNorm: ValueNormalizer;
  /** Further value normalisations by name (BATPAL's reference critic). */
  valueNorms?: Record<string, ValueNormalizer>;
  networks: Record<string, [string, tf.Variable][]>;
  optimizers: Record<string, tf.Optimizer>;
}

/**
 * A hash of every network's weights (networks by name, weights by path, float32 bytes): equal for two runs
 * exactly when they computed the same numbers. The training command records it after the first few
 * iterations so a test can tell whether today's code still trains the way a shipped policy was trained.
 */
export function weightsFingerprint(networks: TrainerState['networks']): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(networks).sort()) {
    for (const [path, v] of [...networks[name]!].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      hash.update(`${name}/${path}:${v.shape.join('x')};`);
      const data = v.dataSync() as Float32Array;
      hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  }
  return hash.digest('hex');
}

export async function buildCheckpoint(state: TrainerState, wallSeconds: number, curve: Checkpoint['curve']): Promise<Checkpoint> {
  const networks: Checkpoint['networks'] = {};
  for (const [name, ws] of Object.entries(state.networks)) networks[name] = Object.fromEntries(ws.map(([k, v]) => [k, saveTensor(v)]));
  const optimizers: Checkpoint['optimizers'] = {};
  for (const [name, opt] of Object.entries(state.optimizers)) optimizers[name] = (await opt.getWeights()).map((w) => saveTensor(w.tensor));
  return {
    format: CHECKPOINT_FORMAT,
    configHash: configHash(state.identity),
    config: state.config,
    iteration: state.iteration,
    envSteps: state.envSteps,
    wallSeconds,
    valueNorm: state.valueNorm.toJSON(),
    ...(state.valueNorms ? { valueNorms: Object.fromEntries(Object.entries(state.valueNorms).map(([k, n]) => [k, n.toJSON()])) } : {}),
    networks,
    optimizers,
    curve,
  };
}

/** Loads a checkpoint into a trainer's networks and optimisers; refuses one of another configuration. */
export async function restoreCheckpoint(ck: Checkpoint, source: string, state: TrainerState): Promise<void> {
  const hash = configHash(state.identity);
  if (ck.configHash !== hash) {
    throw new Error(`${source}: written by a different training configuration (${ck.configHash}, this run is ${hash})`);
  }
  for (const [name, ws] of Object.entries(state.networks)) restoreVariables(`${source}: ${name}`, ck.networks[name] ?? {}, ws);
  for (const [name, opt] of Object.entries(state.optimizers)) {
    const saved = ck.optimizers[name];
    if (!saved || saved.length === 0) continue;
    const weights = saved.map((s, i) => ({ name: `w${i}`, tensor: tf.tensor(loadTensorData(s), s.shape) }));
    await opt.setWeights(weights);
    tf.dispose(weights.map((w) => w.tensor));
  }
  state.valueNorm.restore(ck.valueNorm);
  for (const [name, norm] of Object.entries(state.valueNorms ?? {})) {
    const saved = ck.valueNorms?.[name];
    if (!saved) throw new Error(`${source}: missing value normalisation '${name}'`);
    norm.restore(saved);
  }
}
