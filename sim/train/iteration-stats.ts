// What every trainer reports after an iteration (the training command's progress line and learning curve):
// one base shared by the MAPPO core's algorithms and the posthoc adversary trainer, each adding its losses.
// A type, not an interface: a type literal may stand where an index signature is expected (TrainerStats).
export type RolloutStats = {
  iteration: number;
  envSteps: number;
  /** Episodes that ended during this iteration's rollout, and their mean metrics. */
  episodes: number;
  /** The papers' team return over those episodes. */
  meanReturn: number | null;
  /** Episodes in which the scored robots were ever inside the gather circle. */
  everGatheredRate: number | null;
};

/** A trainer's stats as the training loop reads them: the base, and any further named metrics. */
export type TrainerStats = RolloutStats & { [metric: string]: number | null };
