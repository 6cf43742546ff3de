// What a run's pictures (trajectory.svg, suspicion.svg) draw from: the robots' poses and suspicion at some of
// its ticks. From kept records every tick; streamed (PictureHistory), every tick while the run is short, and
// once it holds more than a bounded number of values, every other tick it holds is dropped and only every
// 2nd, 4th, ... tick is taken from then on (the last tick always), so memory stays bounded however long the run.
import type { TickRecord } from './trial.js';
import type { TickSnapshot } from './tick-snapshot.js';

export interface PictureSample {
  tick: number;
  /** Per robot x, y, theta at 3i: the true pose where the link knows it, else the tracked one (NaN: not located). */
  poses: Float64Array;
  suspicion: ArrayLike<number>;
}

export interface RunPictures {
  /** The run's ticks (the time axis), not the samples'. */
  ticks: number;
  samples: readonly PictureSample[];
}

/** About 16 MB of samples at most (x, y, theta and suspicion per robot per tick kept). */
export const MAX_PICTURE_VALUES = 2 ** 21;

/** Every record, as the pictures read it. */
export function picturesOfRecords(records: readonly TickRecord[]): RunPictures {
  return {
    ticks: records.length,
    samples: records.map((r) => {
      const from = r.truePoses ?? r.poses;
      const poses = new Float64Array(3 * from.length);
      from.forEach((p, i) => poses.set([p.x, p.y, p.theta], 3 * i));
      return { tick: r.tick, poses, suspicion: r.suspicion };
    }),
  };
}

type OwnSample = PictureSample & { suspicion: Float64Array };

export class PictureHistory {
  private samples: PictureSample[] = [];
  /** Ticks taken: those that are multiples of `stride`. */
  private stride = 1;
  private readonly capacity: number;
  private last: PictureSample | null = null;
  private spare: OwnSample | null = null;

  constructor(
    private readonly robots: number,
    maxValues = MAX_PICTURE_VALUES,
  ) {
    this.capacity = Math.max(16, Math.floor(maxValues / (4 * Math.max(1, robots))));
  }

  add(s: TickSnapshot): void {
    if (s.tick % this.stride !== 0) {
      // A tick not kept is only the last one until the next: its buffer is reused.
      this.spare = this.sampleOf(s, this.spare);
      this.last = this.spare;
      return;
    }
    this.last = this.sampleOf(s, null);
    this.samples.push(this.last);
    if (this.samples.length < this.capacity) return;
    this.stride *= 2;
    this.samples = this.samples.filter((x) => x.tick % this.stride === 0);
  }

  /** The samples (with the last tick added), over a run of `ticks` ticks. */
  pictures(ticks: number): RunPictures {
    const samples = this.last && this.samples.at(-1) !== this.last ? [...this.samples, this.last] : this.samples;
    return { ticks, samples };
  }

  private sampleOf(s: TickSnapshot, into: OwnSample | null): OwnSample {
    const x = into ?? { tick: 0, poses: new Float64Array(3 * this.robots), suspicion: new Float64Array(this.robots) };
    x.tick = s.tick;
    for (let i = 0; i < this.robots; i++) {
      x.poses[3 * i] = s.x(i);
      x.poses[3 * i + 1] = s.y(i);
      x.poses[3 * i + 2] = s.theta(i);
    }
    x.suspicion.set(s.suspicion);
    return x;
  }
}
