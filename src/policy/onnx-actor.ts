// A trained actor from a policy folder, run with onnxruntime exactly as the runtime will: every robot's
// observation in one batched call, the deterministic (mean) action out.
import * as ort from 'onnxruntime-node';
import type { ObservationSpec } from '../core/observation.js';
import { loadPolicyFolder, PolicyFolderError, type LoadedPolicy } from './folder.js';

export class OnnxActor {
  private constructor(
    readonly policy: LoadedPolicy,
    private readonly session: ort.InferenceSession,
  ) {}

  /**
   * Loads a policy folder's actor and checks it observes the world as `spec` describes. Actors that read
   * beliefs need the belief network's state per neighbour, which the runtime keeps; they are refused here.
   */
  static async load(dir: string, spec: ObservationSpec): Promise<OnnxActor> {
    const policy = await loadPolicyFolder(dir);
    const m = policy.manifest;
    const release = () => Promise.all(Object.values(policy.sessions).map((s) => s.release()));
    if (m.beliefTypes.length > 0) {
      await release();
      throw new PolicyFolderError(`${dir}: ${m.algorithm} actors read beliefs; run them with the runtime, not a trial`);
    }
    for (const key of ['maxNeighbours', 'commRadius', 'arenaWidth', 'arenaHeight', 'maxSpeed', 'maxTurnRate'] as const) {
      if (Math.abs(m.observation[key] - spec[key]) > 1e-9) {
        await release();
        throw new PolicyFolderError(`${dir}: manifest observation.${key} is ${m.observation[key]} but the twin uses ${spec[key]}`);
      }
    }
    return new OnnxActor(policy, policy.sessions['actor.onnx']!);
  }

  /** Mean actions for `robots` observations (robot g at g * size) into out (robot g at 2g). */
  async act(obs: Float32Array, robots: number, out: Float32Array): Promise<void> {
    const size = this.policy.manifest.observation.size;
    const result = await this.session.run({ obs: new ort.Tensor('float32', obs.slice(0, robots * size), [robots, size]) });
    out.set(result.action!.data as Float32Array);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
