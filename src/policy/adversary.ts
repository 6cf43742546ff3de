// Trained adversaries, run with onnxruntime: each drives one compromised robot from that robot's own
// observation (the deterministic mean command). Two sources: a policy folder that ships its training
// adversary (EIR-MAPPO's adversary-eir.onnx), or a posthoc adversary's own folder (adversary.onnx and a
// swarmguard-adversary/1 manifest naming the team it was trained against).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ADVERSARY_FORMAT, AdversaryManifestSchema, type AdversaryManifest } from '../core/adversary-manifest.js';
import { ConfigError, describeIssues } from '../core/config-file.js';
import { observationLayout, type ObservationSpec } from '../core/observation.js';
import { loadPolicyFolder, observationMismatch, PolicyFolderError, readJsonFile, sha256 } from './folder.js';

/** Reads and validates an adversary folder's manifest.json. */
export function readAdversaryManifest(dir: string): AdversaryManifest {
  const path = join(dir, 'manifest.json');
  const parsed = AdversaryManifestSchema.safeParse(readJsonFile(path), { reportInput: true });
  if (!parsed.success) throw new ConfigError(describeIssues(path, parsed.error));
  return parsed.data;
}

/**
 * Whatever drives the victims in batched episodes (sim/team-eval.ts): a trained adversary through
 * onnxruntime (OnnxAdversary), or a training run's own tfjs adversary (sim/train/tfjs-policy.ts).
 */
export interface AdversaryController {
  readonly name: string;
  /** Mean commands for the victims: victim row r observes obs[victimRows[r] * size ...], its command at 2r of out. */
  act(obs: Float32Array, victimRows: readonly number[], out: Float32Array): Promise<void> | void;
  release(): Promise<void>;
}

export class OnnxAdversary implements AdversaryController {
  private constructor(
    readonly name: string,
    private readonly session: ort.InferenceSession,
    private readonly obsSize: number,
  ) {}

  /**
   * Loads `dir`: an adversary folder, or a policy folder with shipped training adversaries (`pick` names
   * one, e.g. 'severity-2' for adversary-severity-2.onnx; required when there are several). The adversary
   * must observe with the twin's observation size.
   */
  static async load(dir: string, spec: ObservationSpec, pick?: string): Promise<OnnxAdversary> {
    const size = observationLayout(spec).size;
    const manifestPath = join(dir, 'manifest.json');
    if (!existsSync(manifestPath)) throw new PolicyFolderError(`${dir}: not an adversary or policy folder (no manifest.json)`);
    const format = (readJsonFile(manifestPath) as { format?: unknown } | null)?.format;
    if (format === ADVERSARY_FORMAT) {
      if (pick !== undefined) throw new PolicyFolderError(`${dir}: an adversary folder holds one adversary; drop '@${pick}'`);
      const m = readAdversaryManifest(dir);
      const mismatch = observationMismatch(m.observation, spec);
      if (mismatch) throw new PolicyFolderError(`${dir}: ${mismatch}`);
      if (m.observation.size !== size) throw new PolicyFolderError(`${dir}: adversary observes ${m.observation.size} features, the twin ${size}`);
      const path = join(dir, 'adversary.onnx');
      const bytes = readFileSync(path);
      if (sha256(bytes) !== m.files['adversary.onnx'].sha256) throw new PolicyFolderError(`${path}: sha256 does not match manifest.json`);
      return new OnnxAdversary(m.name, await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 }), size);
    }
    const policy = await loadPolicyFolder(dir);
    const shipped = Object.keys(policy.sessions).filter((f) => f.startsWith('adversary-')).map((f) => f.slice('adversary-'.length, -'.onnx'.length));
    const keep = pick !== undefined ? (shipped.includes(pick) ? `adversary-${pick}.onnx` : undefined) : shipped.length === 1 ? `adversary-${shipped[0]}.onnx` : undefined;
    await Promise.all(Object.entries(policy.sessions).filter(([f]) => f !== keep).map(([, s]) => s.release()));
    if (!keep) {
      const what = `${policy.manifest.algorithm} policy folder`;
      if (shipped.length === 0) throw new PolicyFolderError(`${dir}: ${what} ships no adversary (no adversary-*.onnx)`);
      if (pick !== undefined) throw new PolicyFolderError(`${dir}: no adversary '${pick}' in this ${what} (it ships ${shipped.join(', ')})`);
      throw new PolicyFolderError(`${dir}: ${what} ships ${shipped.length} adversaries (${shipped.join(', ')}); pick one as ${dir}@<name>`);
    }
    const mismatch = observationMismatch(policy.manifest.observation, spec);
    if (mismatch || policy.manifest.observation.size !== size) {
      await policy.sessions[keep]!.release();
      throw new PolicyFolderError(`${dir}: ${mismatch ?? `adversary observes ${policy.manifest.observation.size} features, the twin ${size}`}`);
    }
    return new OnnxAdversary(`${policy.manifest.name}/${keep.replace(/\.onnx$/, '')}`, policy.sessions[keep]!, size);
  }

  /** An adversary from ONNX bytes in memory (a model just trained, before its folder is written). */
  static async fromModel(name: string, bytes: Uint8Array, spec: ObservationSpec): Promise<OnnxAdversary> {
    return new OnnxAdversary(name, await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 }), observationLayout(spec).size);
  }

  /** Mean commands for the victims: victim v of row r observes obs[victimRows[r] * size ...], command at 2r. */
  async act(obs: Float32Array, victimRows: readonly number[], out: Float32Array): Promise<void> {
    const n = victimRows.length;
    if (n === 0) return;
    const size = this.obsSize;
    const batch = new Float32Array(n * size);
    victimRows.forEach((g, r) => batch.set(obs.subarray(g * size, (g + 1) * size), r * size));
    const result = await this.session.run({ obs: new ort.Tensor('float32', batch, [n, size]) });
    out.set(result.action!.data as Float32Array);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
