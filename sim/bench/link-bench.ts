// What every link benchmark of `npm run bench:links` shares: the swarm size, how long each measurement
// runs, the rates tried, the result's shape and the quantile used for p50 / p99.
export const ROBOTS = 10;
export const LATENCY_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
export const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 3);
export const RATES = [10, 20, 50, 100, 200, 300, 500];

export interface LinkBenchResult {
  link: string;
  latencyMs: { p50: number; p99: number; max: number; samples: number };
  /** Highest rate tried that was sustained, Hz (null: not even the first). */
  maxRateHz: number | null;
  /** What happened at each rate tried. */
  rates: { hz: number; ticks: number; sustained: boolean; why: string }[];
}

export interface LinkBench {
  name: string;
  /** Why it cannot run here, or null. */
  unavailable(): string | null;
  run(): Promise<LinkBenchResult>;
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

const fmt = (x: number) => x.toFixed(2).padStart(7);

/** The lines a result prints as. */
export function formatResult(res: LinkBenchResult, what = 'round trip'): string[] {
  return [
    `  ${what}, ms:  p50 ${fmt(res.latencyMs.p50)}   p99 ${fmt(res.latencyMs.p99)}   max ${fmt(res.latencyMs.max)}   (${res.latencyMs.samples} exchanges)`,
    ...res.rates.map((r) => `  ${String(r.hz).padStart(4)} Hz: ${r.sustained ? 'sustained' : 'NOT sustained'} (${r.ticks} ticks: ${r.why})`),
    `  highest control rate sustained: ${res.maxRateHz === null ? 'none of those tried' : `${res.maxRateHz} Hz`}${res.maxRateHz === RATES.at(-1) ? ' (the highest tried)' : ''}`,
  ];
}

export type RateTry = { ticks: number; sustained: boolean; why: string };

/** Steps up through RATES, each held RATE_SECONDS; a failed rate gets a second try (shared machines stall). */
export async function rateLadder(drive: (hz: number) => Promise<RateTry>): Promise<Pick<LinkBenchResult, 'maxRateHz' | 'rates'>> {
  const rates: LinkBenchResult['rates'] = [];
  let maxRateHz: number | null = null;
  for (const hz of RATES) {
    let got = await drive(hz);
    if (!got.sustained) {
      rates.push({ hz, ...got });
      got = await drive(hz);
    }
    rates.push({ hz, ...got });
    if (!got.sustained) break;
    maxRateHz = hz;
  }
  return { maxRateHz, rates };
}

/** What a bench rig offers the shared latency loop: whether robot i awaits its answer, a pose for it, the samples. */
export interface LockstepRig {
  pending: readonly unknown[];
  samples: number[];
}

/**
 * Round-trip latency at the deployed 10 Hz, lock-step per robot (a robot's next pose only after the answer to
 * its last came back), for LATENCY_SECONDS.
 */
export async function lockstepLatency<R extends LockstepRig>(r: R, publishPose: (r: R, i: number) => void): Promise<LinkBenchResult['latencyMs']> {
  const end = performance.now() + LATENCY_SECONDS * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < ROBOTS; i++) if (r.pending[i] === null) publishPose(r, i);
    await new Promise((res) => setTimeout(res, 100));
  }
  const xs = r.samples;
  return { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: Math.max(...xs), samples: xs.length };
}
