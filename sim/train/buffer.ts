// The rollout buffer of the MAPPO core: explicit typed arrays for one iteration's T steps of E environments
// with N robots each, and generalised advantage estimation over them.
//
// Per agent (robot) and step: observation, sampled action, its log-probability, a loss mask (0 drops the
// transition from the defenders' loss, e.g. a victim's own transitions). Per environment and step: global
// state, value estimate, shared reward and episode end. The critic is per environment (the reward is shared),
// so advantages are computed per environment and shared by its robots.

export interface BufferShape {
  steps: number;
  envs: number;
  robots: number;
  obsSize: number;
  stateSize: number;
}

export class RolloutBuffer {
  readonly agents: number;
  readonly obs: Float32Array;
  readonly actions: Float32Array;
  readonly logProbs: Float32Array;
  readonly lossMask: Float32Array;
  readonly states: Float32Array;
  /** Value estimates in return units; slot steps holds the bootstrap value after the last step. */
  readonly values: Float32Array;
  readonly rewards: Float32Array;
  readonly dones: Uint8Array;
  readonly advantages: Float32Array;
  readonly returns: Float32Array;

  constructor(readonly shape: BufferShape) {
    const { steps: T, envs: E, robots: N, obsSize, stateSize } = shape;
    this.agents = E * N;
    this.obs = new Float32Array(T * this.agents * obsSize);
    this.actions = new Float32Array(T * this.agents * 2);
    this.logProbs = new Float32Array(T * this.agents);
    this.lossMask = new Float32Array(T * this.agents).fill(1);
    this.states = new Float32Array(T * E * stateSize);
    this.values = new Float32Array((T + 1) * E);
    this.rewards = new Float32Array(T * E);
    this.dones = new Uint8Array(T * E);
    this.advantages = new Float32Array(T * E);
    this.returns = new Float32Array(T * E);
  }

  /**
   * GAE(gamma, lambda) per environment. An episode end stops the bootstrap: the global state carries the
   * episode's time fraction, so the time limit is part of the state and the end is a true terminal.
   */
  computeAdvantages(gamma: number, lambda: number): void {
    const { steps: T, envs: E } = this.shape;
    for (let e = 0; e < E; e++) {
      let next = 0;
      for (let t = T - 1; t >= 0; t--) {
        const i = t * E + e;
        const live = this.dones[i] ? 0 : 1;
        const delta = this.rewards[i]! + gamma * this.values[(t + 1) * E + e]! * live - this.values[i]!;
        next = delta + gamma * lambda * live * next;
        this.advantages[i] = next;
        this.returns[i] = next + this.values[i]!;
      }
    }
  }
}

/** Running mean and variance of value targets (the MAPPO "value normalisation"), updated per batch. */
export class ValueNormalizer {
  mean = 0;
  meanSq = 0;
  debias = 0;

  constructor(readonly beta = 0.99999, readonly epsilon = 1e-5) {}

  update(values: Float32Array): void {
    let m = 0;
    let m2 = 0;
    for (const v of values) {
      m += v;
      m2 += v * v;
    }
    m /= values.length;
    m2 /= values.length;
    // Weight by batch size as in the MAPPO code: beta^batch for the old statistics.
    const w = Math.pow(this.beta, values.length);
    this.mean = w * this.mean + (1 - w) * m;
    this.meanSq = w * this.meanSq + (1 - w) * m2;
    this.debias = w * this.debias + (1 - w);
  }

  private stats(): { mean: number; std: number } {
    const d = Math.max(this.debias, this.epsilon);
    const mean = this.mean / d;
    const variance = Math.max(this.meanSq / d - mean * mean, 1e-2);
    return { mean, std: Math.sqrt(variance) };
  }

  normalize(v: number): number {
    const { mean, std } = this.stats();
    return (v - mean) / std;
  }

  denormalize(v: number): number {
    const { mean, std } = this.stats();
    return v * std + mean;
  }

  toJSON(): { mean: number; meanSq: number; debias: number } {
    return { mean: this.mean, meanSq: this.meanSq, debias: this.debias };
  }

  restore(s: { mean: number; meanSq: number; debias: number }): void {
    this.mean = s.mean;
    this.meanSq = s.meanSq;
    this.debias = s.debias;
  }
}
