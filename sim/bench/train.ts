// npm run bench:train — throughput of the training loop and of its parts (rollout, update) for MAPPO and
// every algorithm with its defaults (10 robots, noise on), min/median/max over a few iterations. BATPAL's
// iterations include its MDP0 rollouts (counted in its env steps and its rollout time).
// BENCH_ALGO=<algo> runs one of them only; BENCH_ITERATIONS sets the iterations (default 6).
import { resolveSwarmConfig } from '../../src/core/swarm-config.js';
import { ALGORITHMS, resolveTrainConfig } from '../train/config.js';
import { createTrainer } from '../train/trainer.js';
import { initBackend } from '../train/tf.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 6);
const backend = await initBackend((process.env.BENCH_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
const algos = process.env.BENCH_ALGO ? [process.env.BENCH_ALGO] : [...ALGORITHMS];
const q = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${Math.round(s[0]!)} / ${Math.round(s[Math.floor(s.length / 2)]!)} / ${Math.round(s[s.length - 1]!)}`;
};
for (const algo of algos) {
  const config = resolveTrainConfig({ algo }, 'bench');
  const settings = resolveSwarmConfig(config.env);
  const trainer = createTrainer(config, settings);
  trainer.iterate(); // warm-up: kernels compiled, buffers allocated
  let steps = trainer.envSteps;
  let perIteration = 0;
  const total: number[] = [];
  const rollout: number[] = [];
  const update: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const s = trainer.iterate();
    perIteration = s.envSteps - steps;
    steps = s.envSteps;
    const rolloutMs = s.rolloutMs!;
    const updateMs = s.updateMs!;
    total.push(perIteration / ((rolloutMs + updateMs) / 1000));
    rollout.push(perIteration / (rolloutMs / 1000));
    update.push(perIteration / (updateMs / 1000));
  }
  console.log(`swarmguard bench:train  ${algo}  backend ${backend}  ${settings.robots.length} robots x ${config.envs} envs, ` +
    `${perIteration} env steps per iteration, ${ITERATIONS} iterations (min / median / max env steps/s)`);
  console.log(`  whole loop  ${q(total)}`);
  console.log(`  rollout     ${q(rollout)}`);
  console.log(`  update      ${q(update)}`);
}
