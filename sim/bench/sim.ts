// npm run bench:sim — throughput of the vectorised twin (observations, rewards and collisions included).
// Prints env-steps/s and robot-steps/s as min/median/max over repeats, one process, one core; rows for the
// global observation of the bench (9 within 1.5 m) and for the shipped local policies' (the 4 nearest within 0.6 m).
import { resolveSwarmConfig } from '../../src/core/swarm-config.js';
import { makeStreams } from '../../src/core/random.js';
import { RendezvousWorld } from '../world.js';

interface Case {
  robots: number;
  envs: number;
  /** The arena grows with N (side 2 m x sqrt(N / 10): the density of 10 robots in 2 m x 2 m); else 2 m x 2 m. */
  constantDensity?: boolean;
  /** The shipped local policies' observation (local, the 4 nearest within 0.6 m); else global, 9 within 1.5 m. */
  local?: boolean;
}

/** Observation settings of the two kinds of rows. */
const GLOBAL_OBSERVATION = { observation: 'global', maxNeighbours: 9, sensingRadius: 1.5 } as const;
const LOCAL_OBSERVATION = { observation: 'local', maxNeighbours: 4, sensingRadius: 0.6 } as const;

const CASES: Case[] = [
  { robots: 10, envs: 1 },
  { robots: 10, envs: 64 },
  { robots: 10, envs: 1024 },
  { robots: 100, envs: 16 },
  { robots: 100, envs: 1, constantDensity: true },
  { robots: 100, envs: 16, constantDensity: true },
  // The shipped local policies' config (sim/train/configs/*-local-*.yaml), the one that scales with N.
  { robots: 10, envs: 1, local: true },
  { robots: 100, envs: 1, constantDensity: true, local: true },
  { robots: 100, envs: 16, constantDensity: true, local: true },
];
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
/** Each repeat runs at least this long, s. */
const MIN_SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const ACTION_BANK = 64;

function quantiles(xs: number[]): [number, number, number] {
  const s = [...xs].sort((a, b) => a - b);
  return [s[0]!, s[Math.floor(s.length / 2)]!, s[s.length - 1]!];
}

function fmt(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

function bench(c: Case, noise: 'default' | 'off'): { env: number[]; robot: number[] } {
  const side = c.constantDensity ? 2 * Math.sqrt(c.robots / 10) : 2;
  const observation = c.local ? LOCAL_OBSERVATION : GLOBAL_OBSERVATION;
  const settings = resolveSwarmConfig({ robots: c.robots, noise, ...observation, arena: { width: side, height: side } });
  const world = new RendezvousWorld(settings, { envs: c.envs, seed: 1 });
  // A bank of random commands, replayed cyclically, so action generation is not timed.
  const rng = makeStreams(2, 1)[0]!;
  const bank = Array.from({ length: ACTION_BANK }, () => {
    const a = new Float32Array(2 * c.envs * c.robots);
    for (let i = 0; i < a.length; i++) a[i] = rng.range(-1, 1);
    return a;
  });
  for (let i = 0; i < 50; i++) world.step(bank[i % ACTION_BANK]!);
  const env: number[] = [];
  const robot: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    let steps = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < MIN_SECONDS * 1000) {
      for (let i = 0; i < 16; i++) world.step(bank[(steps + i) % ACTION_BANK]!);
      steps += 16;
      elapsed = performance.now() - t0;
    }
    const perSec = (steps * c.envs) / (elapsed / 1000);
    env.push(perSec);
    robot.push(perSec * c.robots);
  }
  return { env, robot };
}

console.log(`swarmguard bench:sim  node ${process.version}  repeats=${REPEATS} x >=${MIN_SECONDS}s  (min / median / max)`);
for (const noise of ['default', 'off'] as const) {
  console.log(`\nnoise model: ${noise}`);
  console.log('  N    E      env-steps/s (min / median / max)          robot-steps/s (median)   observation           arena');
  for (const c of CASES) {
    const { env, robot } = bench(c, noise);
    const [lo, med, hi] = quantiles(env);
    console.log(
      `  ${String(c.robots).padEnd(4)} ${String(c.envs).padEnd(6)} ${fmt(lo).padStart(10)} / ${fmt(med).padStart(10)} / ${fmt(hi).padStart(10)}` +
        `   ${fmt(quantiles(robot)[1]).padStart(12)}   ${(c.local ? 'local 4 in 0.6 m' : 'global 9 in 1.5 m').padEnd(20)}  ${c.constantDensity ? `${(2 * Math.sqrt(c.robots / 10)).toFixed(2)} m (constant density)` : '2 m'}`,
    );
  }
}
