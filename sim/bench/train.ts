// npm run bench:train — throughput of the MAPPO training loop and of its parts (rollout, update), with the
// shipped configuration (10 robots, noise on), min/median/max over a few iterations.
import { resolveSimConfig } from '../config.js';
import { resolveTrainConfig } from '../train/config.js';
import { MappoTrainer } from '../train/mappo.js';
import { initBackend } from '../train/tf.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 6);
const backend = await initBackend((process.env.BENCH_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
const config = resolveTrainConfig({}, 'defaults');
const settings = resolveSimConfig(config.env);
const trainer = new MappoTrainer(config, settings);
trainer.iterate(); // warm-up: kernels compiled, buffers allocated

const perIteration = config.envs * config.rolloutSteps * config.decisionTicks;
const total: number[] = [];
const rollout: number[] = [];
const update: number[] = [];
for (let i = 0; i < ITERATIONS; i++) {
  const s = trainer.iterate();
  total.push(perIteration / ((s.rolloutMs + s.updateMs) / 1000));
  rollout.push(perIteration / (s.rolloutMs / 1000));
  update.push(perIteration / (s.updateMs / 1000));
}
const q = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${Math.round(s[0]!)} / ${Math.round(s[Math.floor(s.length / 2)]!)} / ${Math.round(s[s.length - 1]!)}`;
};
console.log(`swarmguard bench:train  backend ${backend}  ${settings.robots.length} robots x ${config.envs} envs, ` +
  `${perIteration} env steps per iteration, ${ITERATIONS} iterations (min / median / max env steps/s)`);
console.log(`  whole loop  ${q(total)}`);
console.log(`  rollout     ${q(rollout)}`);
console.log(`  update      ${q(update)}`);
