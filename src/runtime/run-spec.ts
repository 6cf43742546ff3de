// What the runtime needs of a launch file: the swarm, the policy, the trial's attacks, the safety and monitor
// settings, how long and how fast to run. The launch file (src/launch/launch.ts) extends it with the link's
// and the services' options, which the runtime does not read.
import type { SwarmSettings } from '../core/swarm-config.js';
import type { MonitorSettings } from '../monitor/monitor.js';
import type { OnFlag } from './isolation.js';
import type { SafetySettings } from './safety.js';
import type { Injection } from './trial.js';

export interface RunSpec {
  /** The launch file's path (errors and records name it). */
  source: string;
  name: string;
  settings: SwarmSettings;
  /** The link's options: the runtime reads only their kind; recordings keep them whole. */
  link: { readonly kind: string };
  /** 'fast' only for the sim link; every other link runs live. */
  mode: 'live' | 'fast';
  seed: number;
  policyDir: string;
  forgetAfterTicks: number;
  ticks: number;
  trial: boolean;
  safety: SafetySettings;
  monitor: MonitorSettings;
  /** What a flag does: report, isolate or isolate-and-stop (monitor.onFlag). */
  onFlag: OnFlag;
  /** Loaded attacks (adversaries hold onnxruntime sessions: release them with releaseRun). */
  injections: (Injection & { ref: string })[];
  outDir: string;
}

/** Releases a run's loaded attacks (an injection on several robots shares one loaded attack: released once). */
export async function releaseRun(run: Pick<RunSpec, 'injections'>): Promise<void> {
  const attacks = new Set(run.injections.map((i) => i.attack));
  await Promise.all([...attacks].map((a) => (a.kind === 'adversary' ? a.adversary.release() : undefined)));
}
