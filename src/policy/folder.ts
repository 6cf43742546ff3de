// Policy folders: written atomically by training, and checked before anything is deployed from them
// (manifest schema, observation spec, file hashes, ONNX input/output names, shapes and dtypes).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ConfigError, describeIssues } from '../core/config-file.js';
import { LOCAL_SPEC_ID, observationLayout, type ObservationSpec } from '../core/observation.js';
import { PolicyManifestSchema, type ObservationRecord, type PolicyManifest, type TensorSpec } from '../core/policy-manifest.js';
import { UserError } from '../core/user-error.js';

export class PolicyFolderError extends UserError {
  override readonly name: string = 'PolicyFolderError';
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface ModelFile {
  bytes: Uint8Array;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/**
 * Writes a policy folder: the ONNX models (their hashes and signatures go into the manifest) and any
 * extra files (reports, curves). Everything is written to a sibling temporary folder and moved into place
 * at the end, so a crash never leaves a half-written policy. An existing folder is replaced only with `force`.
 */
export function writePolicyFolder(
  dir: string,
  manifest: Omit<PolicyManifest, 'files'>,
  models: Record<string, ModelFile>,
  extras: Record<string, string | Uint8Array> = {},
  force = false,
): PolicyManifest {
  if (existsSync(dir) && !force) {
    throw new PolicyFolderError(`${dir} already exists; pass --force to replace it`);
  }
  const files: PolicyManifest['files'] = {};
  for (const [name, m] of Object.entries(models)) files[name] = { sha256: sha256(m.bytes), inputs: m.inputs, outputs: m.outputs };
  const full = PolicyManifestSchema.parse({ ...manifest, files });
  const contents: Record<string, string | Uint8Array> = { ...extras, 'manifest.json': `${JSON.stringify(full, null, 2)}\n` };
  for (const [name, m] of Object.entries(models)) contents[name] = m.bytes;
  writeFolderAtomically(dir, contents);
  return full;
}

/**
 * Writes `files` as folder `dir`: into a sibling temporary folder first, then moved into place (an existing
 * folder replaced), so a crash never leaves a half-written folder.
 */
export function writeFolderAtomically(dir: string, files: Record<string, string | Uint8Array>): void {
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(tmp, name), content);
  const old = join(dirname(dir), `.${basename(dir)}.old-${process.pid}`);
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/**
 * The first way a network's recorded observation differs from the swarm's, as a message; null if none. The
 * variant must match; the local variant does not depend on the arena, so only the global one checks it.
 */
export function observationMismatch(recorded: Omit<ObservationRecord, 'size'>, spec: ObservationSpec): string | null {
  if (recorded.spec !== spec.id) {
    return `manifest observation.spec is '${recorded.spec}' but the swarm uses '${spec.id}' (set the swarm's observation: ${recorded.spec === LOCAL_SPEC_ID ? 'local' : 'global'})`;
  }
  const keys = spec.id === LOCAL_SPEC_ID
    ? (['maxNeighbours', 'sensingRadius', 'maxSpeed', 'maxTurnRate'] as const)
    : (['maxNeighbours', 'sensingRadius', 'arenaWidth', 'arenaHeight', 'maxSpeed', 'maxTurnRate'] as const);
  for (const key of keys) {
    if (Math.abs(recorded[key] - spec[key]) > 1e-9) {
      // The global variant's own position is normalised over its training arena: no other arena can be served.
      if (key === 'arenaWidth' || key === 'arenaHeight') {
        return `manifest observation.${key} is ${recorded[key]} but the twin uses ${spec[key]}: a global-variant policy (${recorded.spec}) reads positions ` +
          `normalised over its ${recorded.arenaWidth} m x ${recorded.arenaHeight} m training arena and cannot serve a ${spec.arenaWidth} m x ${spec.arenaHeight} m one; ` +
          `deploy a local-variant policy (observation: local, ${LOCAL_SPEC_ID}), which runs on any arena and swarm size`;
      }
      return `manifest observation.${key} is ${recorded[key]} but the twin uses ${spec[key]}`;
    }
  }
  return null;
}

/** Reads a manifest.json as JSON; errors name the file. */
export function readJsonFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : `invalid JSON: ${(err as Error).message}`}`);
  }
}

export interface LoadedPolicy {
  dir: string;
  manifest: PolicyManifest;
  sessions: Record<string, ort.InferenceSession>;
}

function sameShape(a: readonly (number | string)[], b: readonly (number | string)[]): boolean {
  return a.length === b.length && a.every((d, i) => (typeof d === 'string' && typeof b[i] === 'string') || d === b[i]);
}

function fmtShape(s: readonly (number | string)[]): string {
  return `[${s.join(', ')}]`;
}

/** Reads and validates manifest.json; errors name the file and the key. */
export function readManifest(dir: string): PolicyManifest {
  const path = join(dir, 'manifest.json');
  const parsed = PolicyManifestSchema.safeParse(readJsonFile(path), { reportInput: true });
  if (!parsed.success) throw new ConfigError(describeIssues(path, parsed.error));
  const m = parsed.data;
  const expected = observationLayout({ ...m.observation, id: m.observation.spec }).size;
  if (m.observation.size !== expected) {
    throw new ConfigError(`${path}: observation.size: ${m.observation.size} does not match maxNeighbours ${m.observation.maxNeighbours} (expected ${expected})`);
  }
  return m;
}

/**
 * Loads a policy folder: validates the manifest, checks every model file's sha256, opens one
 * onnxruntime session per model and checks its inputs and outputs against the manifest.
 */
export async function loadPolicyFolder(dir: string, sessionOptions: ort.InferenceSession.SessionOptions = {}): Promise<LoadedPolicy> {
  const manifest = readManifest(dir);
  const sessions: Record<string, ort.InferenceSession> = {};
  try {
    await openModels(dir, manifest, sessions, sessionOptions);
  } catch (err) {
    // Nothing half-loaded: sessions opened before the failure are released.
    await Promise.all(Object.values(sessions).map((s) => s.release()));
    throw err;
  }
  return { dir, manifest, sessions };
}

async function openModels(
  dir: string,
  manifest: PolicyManifest,
  sessions: Record<string, ort.InferenceSession>,
  sessionOptions: ort.InferenceSession.SessionOptions,
): Promise<void> {
  for (const [name, spec] of Object.entries(manifest.files)) {
    const path = join(dir, name);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch {
      throw new PolicyFolderError(`${path}: listed in manifest.json but missing`);
    }
    const hash = sha256(bytes);
    if (hash !== spec.sha256) {
      throw new PolicyFolderError(`${path}: sha256 ${hash} does not match manifest.json (${spec.sha256})`);
    }
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, ...sessionOptions });
    sessions[name] = session;
    const check = (kind: 'input' | 'output', specs: TensorSpec[], meta: readonly ort.InferenceSession.ValueMetadata[]) => {
      const names = meta.map((v) => v.name);
      for (const s of specs) {
        const m = meta.find((v) => v.name === s.name);
        if (!m) throw new PolicyFolderError(`${path}: manifest lists ${kind} '${s.name}' but the model has ${names.join(', ')}`);
        if (!m.isTensor || m.type !== s.dtype) {
          throw new PolicyFolderError(`${path}: ${kind} '${s.name}' is ${m.isTensor ? m.type : 'not a tensor'}, manifest says ${s.dtype}`);
        }
        if (!sameShape(m.shape, s.shape)) {
          throw new PolicyFolderError(`${path}: ${kind} '${s.name}' has shape ${fmtShape(m.shape)}, manifest says ${fmtShape(s.shape)}`);
        }
      }
      if (meta.length !== specs.length) {
        throw new PolicyFolderError(`${path}: model ${kind}s ${names.join(', ')} differ from manifest.json's ${specs.map((s) => s.name).join(', ')}`);
      }
    };
    check('input', spec.inputs, session.inputMetadata);
    check('output', spec.outputs, session.outputMetadata);
  }
}
