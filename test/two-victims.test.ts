// Two compromised robots in one environment: both commands replaced, both observations perturbed, neither
// scored; the evaluation protocol's second victim (e + floor(N/2)) mod N and its benign counterpart.
import { describe, expect, it } from 'vitest';
import { maxWheelSpeed } from '../src/core/robot-params.js';
import { wrapAngle } from '../src/core/kinematics.js';
import { rendezvousOutcome, rendezvousReward } from '../src/core/rendezvous.js';
import type { TeamController } from '../src/policy/team.js';
import { faultByName } from '../src/attacks/faults.js';
import { CommandOverride } from '../src/attacks/override.js';
import { evaluateTeamEpisodes } from '../sim/team-eval.js';
import { episodeVictims, loadAttackRow } from '../src/attacks/attack.js';
import { RendezvousWorld, type Pose } from '../sim/world.js';
import { settings } from './helpers.js';

const pose = (x: number, y: number, heading = 0): Pose => ({ x, y, heading });
/** Robots 0 and 2 side by side; robots 1 and 3 far from them and from each other. */
const START = [pose(1, 1), pose(0.3, 1.7), pose(1.1, 1), pose(1.7, 0.3)];

function fourRobots(steps = 10) {
  const s = settings({ robots: 4, episodeSteps: steps });
  const world = new RendezvousWorld(s, { envs: 1, seed: 3, autoReset: false });
  world.resetEnv(0, START);
  return { s, world };
}

describe('two victims in one environment', () => {
  it('a fault on both: both spin on the spot, the others follow their controller; neither is scored', () => {
    const { s, world } = fourRobots(3);
    world.setVictims(0, [
      { robot: 'epuck-1', override: faultByName('spin') },
      { robot: 'epuck-3', override: faultByName('spin') },
    ]);
    expect(world.victimsOf(0)).toEqual([1, 3]);
    expect(world.victim[0]).toBe(1);
    expect(Array.from(world.compromised)).toEqual([0, 1, 0, 1]);
    for (let t = 0; t < 3; t++) {
      world.step(new Float32Array(8).fill(0.2));
      expect(Array.from(world.truth.command)).toEqual([0.2, 0.2, -1, 1, 0.2, 0.2, -1, 1].map(Math.fround));
    }
    const end = world.poses(0);
    const p = s.robots[1]!;
    for (const k of [1, 3]) {
      expect(end[k]!.x).toBeCloseTo(START[k]!.x, 12);
      expect(end[k]!.y).toBeCloseTo(START[k]!.y, 12);
      expect(end[k]!.heading).toBeCloseTo(wrapAngle(((2 * maxWheelSpeed(p)) / p.wheelDistance) * 0.3), 9);
    }
    expect(end[0]!.x).toBeGreaterThan(START[0]!.x + 0.005);
    // Robots 0 and 2 stayed together: gathered, whatever the two victims far away do.
    const { x, y } = world.truth;
    expect(world.metrics(0)).toMatchObject({ ...rendezvousOutcome(x, y, 0, 4, s.gatherDiameter, [1, 3]), gatheredAtEnd: true, largestClusterFraction: 1, timeToGather: 0 });
    // The defenders' reward leaves both out too.
    expect(world.rewards[0]).toBeCloseTo(rendezvousReward(x, y, world.truth.command, 0, 4, Math.hypot(s.arenaWidth, s.arenaHeight), 0, s.reward, [1, 3]), 12);
    // One victim only: the other far robot is scored and the team is not gathered.
    const one = fourRobots(3).world;
    one.setVictim(0, { robot: 1, override: faultByName('spin') });
    for (let t = 0; t < 3; t++) one.step(new Float32Array(8).fill(0.2));
    expect(one.metrics(0).gatheredAtEnd).toBe(false);
  });

  it("a batched adversary drives each victim from its own slot; observation noise perturbs both victims' observations only", () => {
    const { world } = fourRobots();
    const override = new CommandOverride(1, 2);
    override.commands.set([0.1, 0.2, 0.3, 0.4]);
    world.setVictims(0, [{ robot: 3, override }, { robot: 1, override }]);
    world.step(new Float32Array(8));
    expect(Array.from(world.truth.command)).toEqual([0, 0, 0.3, 0.4, 0, 0, 0.1, 0.2].map(Math.fround));

    const clean = fourRobots().world;
    const noisy = fourRobots().world;
    noisy.setVictims(0, [
      { robot: 1, observationNoise: 0.3 },
      { robot: 2, observationNoise: 0.3 },
    ]);
    noisy.resetEnv(0, START);
    const obs = (w: RendezvousWorld, k: number) => Array.from(w.obs.subarray(k * w.obsSize, (k + 1) * w.obsSize));
    for (const k of [0, 3]) expect(obs(noisy, k)).toEqual(obs(clean, k));
    for (const k of [1, 2]) expect(obs(noisy, k)).not.toEqual(obs(clean, k));
  });

  it('refuses a robot named twice, a victim list that leaves nobody to score, and an override with too few slots', () => {
    const { world } = fourRobots();
    expect(() => world.setVictims(0, [{ robot: 1 }, { robot: 'epuck-1' }])).toThrow(/robot 'epuck-1' is named twice as a victim/);
    expect(() => world.setVictims(0, [0, 1, 2, 3].map((robot) => ({ robot })))).toThrow(/4 victims leave no uncompromised robot/);
    expect(() => world.setScoredOut(0, [2, 2])).toThrow(/'epuck-2' is named twice/);
    expect(world.victimsOf(0)).toEqual([]);
    const single = new CommandOverride(1);
    world.setVictims(0, [{ robot: 1, override: single }, { robot: 2, override: single }]);
    expect(() => world.step(new Float32Array(8))).toThrow(/1 command\(s\) per environment; env 0 has a victim in slot 1/);
  });

  it('evaluation: the victims of episode e are robots e mod N and (e + floor(N/2)) mod N; benign 2-victim episodes score the same 8 of 10', async () => {
    const s = settings({ robots: 10, episodeSteps: 4 });
    expect([0, 1, 7].map((e) => episodeVictims(e, 10, 2))).toEqual([[0, 5], [1, 6], [7, 2]]);
    expect(episodeVictims(3, 10, 1)).toEqual([3]);
    const episodes = 3;
    let shown: RendezvousWorld | null = null;
    const still: TeamController = {
      name: 'still',
      act: (view, out) => {
        if (view instanceof RendezvousWorld) shown = view;
        out.fill(0);
      },
      resetEnv: () => {},
      release: async () => {},
    };
    const world = (): RendezvousWorld => {
      if (!shown) throw new Error('the team was not shown the world');
      return shown;
    };
    const benign = await evaluateTeamEpisodes(s, still, { episodes, seed: 2, victims: 2 });
    const scored = (w: RendezvousWorld, e: number) => Array.from({ length: 10 }, (_, k) => k).filter((k) => !w.scoredOutOf(e).includes(k));
    for (let e = 0; e < episodes; e++) {
      expect(world().victimsOf(e)).toEqual([]);
      expect(world().scoredOutOf(e)).toEqual(episodeVictims(e, 10, 2));
      expect(scored(world(), e)).toHaveLength(8);
      expect(benign[e]).toMatchObject(rendezvousOutcome(world().truth.x, world().truth.y, e * 10, 10, s.gatherDiameter, episodeVictims(e, 10, 2)));
    }
    const attacked = await evaluateTeamEpisodes(s, still, { episodes, seed: 2, victims: 2, attack: { kind: 'fault', fault: 'spin' } });
    for (let e = 0; e < episodes; e++) {
      expect(world().victimsOf(e)).toEqual(episodeVictims(e, 10, 2));
      // Spinning on the spot moves nobody: the same 8 robots, at the same places, give the same outcome.
      expect(attacked[e]!.gatheredAtEnd).toBe(benign[e]!.gatheredAtEnd);
      expect(attacked[e]!.finalMeanPairwiseDistance).toBeCloseTo(benign[e]!.finalMeanPairwiseDistance, 12);
    }
    await expect(evaluateTeamEpisodes(settings({ robots: 3 }), still, { episodes: 1, seed: 1, victims: 2 })).rejects.toThrow(/2 victims per episode in a swarm of 3 robots; from 1 to 1/);
  });

  it('matrix rows: 2x:<attack> on two victims, refused with the reference named when k is out of range', async () => {
    const s = settings({ robots: 10 });
    expect(await loadAttackRow('2x:fault:spin', s)).toEqual({ attack: { kind: 'fault', fault: 'spin' }, victims: 2 });
    expect(await loadAttackRow('2x:none', s)).toEqual({ attack: { kind: 'none' }, victims: 2 });
    expect(await loadAttackRow('obs-noise:0.5', s)).toEqual({ attack: { kind: 'observation-noise', epsilon: 0.5 }, victims: 1 });
    await expect(loadAttackRow('1x:fault:spin', s)).rejects.toThrow(/attack '1x:fault:spin': .*write 'fault:spin' for one/);
    await expect(loadAttackRow('9x:fault:spin', s)).rejects.toThrow(/attack '9x:fault:spin': 9 victims per episode in a swarm of 10 robots; from 1 to 8/);
    await expect(loadAttackRow('2x:fault:wobble', s)).rejects.toThrow(/unknown fault 'wobble'/);
  });
});
