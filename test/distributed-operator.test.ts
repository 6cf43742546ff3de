// An operator's order to a distributed live run (`swarmguard operator <launch> onflag <mode>`): the run starts
// with monitor.onFlag report and the trained adversary on epuck-3; once the run is going, the operator switches
// flags to isolate-and-stop over the bus (the operator login; the run's ACL lets only it give orders). The
// monitor answers with its on-flag event, and from then on flags act: the attacked robot is isolated and the
// feed (the robots' bridge) holds it, although the launch file said report. Orders to a lock-step run and
// orders that are not an onFlag value are refused before anything is sent.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FeedSummary } from '../sim/distributed-feed.js';
import { runDistributed } from '../src/distributed/launcher.js';
import { parseOrder, sendOrder, type OrderAnswer } from '../src/distributed/operator.js';
import { distributedTestFiles, writeDistributedLaunch } from './helpers/distributed-launch.js';

const PASSWORD_ENV = 'SWARMGUARD_DISTRIBUTED_OPERATOR_TEST_PASSWORD';
const ATTACKED = 'epuck-3';
const files = distributedTestFiles('distributed-operator', PASSWORD_ENV);

type Event = Record<string, any>;

describe('operator orders to a distributed run', () => {
  it('refuses, before connecting, an order that is not onflag <mode> and any order to a lock-step run', async () => {
    expect(parseOrder(['onflag', 'isolate'])).toBe('isolate');
    expect(() => parseOrder(['estop'])).toThrow(/one order over its bus: onflag report\|isolate\|isolate-and-stop/);
    expect(() => parseOrder(['onflag', 'quarantine'])).toThrow(/onflag/);
    const lockstep = writeDistributedLaunch(files.dir, 'operator-lockstep', PASSWORD_ENV, () => {});
    // The broker named does not exist: refused before any connection is tried.
    await expect(sendOrder(lockstep, 'isolate', { broker: 'mqtt://127.0.0.1:1', log: () => {} })).rejects.toThrow(/operator orders are for live runs/);
  });

  it('switches a live run from report to isolate-and-stop: the monitor answers, then holds the attacked robot, and the feed holds it too', async () => {
    const seconds = 14;
    const path = writeDistributedLaunch(files.dir, 'operator-live', PASSWORD_ENV, (l) => {
      l.duration = seconds;
      l.swarm.robots = 4;
      l.monitor.onFlag = 'report';
      l.injections = [{ ...l.injections[0], at: 2, duration: 10 }];
      l.distributed.mode = 'live';
    });
    const lines: string[] = [];
    let broker: string | null = null;
    const feedOut = join(files.dir, 'feed-operator-live.json');
    const run = runDistributed(path, {
      embedded: true,
      feedOut,
      log: (l) => {
        lines.push(l);
        broker ??= /embedded broker on (mqtt:\/\/\S+)/.exec(l)?.[1] ?? null;
      },
    });
    // The operator: as soon as the broker is up, the order, again until the monitor (once it is subscribed) answers.
    let answer: OrderAnswer | null = null;
    let finished = false;
    void run.finally(() => (finished = true));
    while (!answer && !finished) {
      if (broker) answer = await sendOrder(path, 'isolate-and-stop', { broker, timeoutMs: 1500, log: () => {} }).catch(() => null);
      else await new Promise((r) => setTimeout(r, 100));
    }
    const exits = await run;
    const log = lines.join('\n');
    expect(exits.filter((e) => e.code !== 0), log).toEqual([]);
    expect(answer, log).not.toBeNull();
    expect(answer!.onFlag).toBe('isolate-and-stop');
    const runs = join(files.dir, 'runs-operator-live');
    const folder = join(runs, readdirSync(runs)[0]!);
    const events = readFileSync(join(folder, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Event);
    const feed = JSON.parse(readFileSync(feedOut, 'utf8')) as FeedSummary;
    // The order, as the monitor recorded it, at the tick it answered with; nothing acted on flags before it.
    const order = events.find((e) => e.kind === 'on-flag');
    expect(order, JSON.stringify(events)).toEqual({ tick: answer!.tick, kind: 'on-flag', onFlag: 'isolate-and-stop', reason: 'operator' });
    expect(events.filter((e) => e.kind === 'isolate' && e.tick < order!.tick)).toEqual([]);
    // The attacked robot (flagged before or after the order) isolated and held from then on, by the feed too.
    const isolate = events.find((e) => e.kind === 'isolate' && e.robot === ATTACKED);
    expect(isolate, `${JSON.stringify(events)}\n${log}`).toMatchObject({ stopped: true });
    expect(isolate!.tick).toBeGreaterThanOrEqual(order!.tick);
    expect(feed.heldTicks[ATTACKED], log).toBeGreaterThan(0);
    const summary = JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8'));
    expect(summary.isolations.onFlag).toBe('isolate-and-stop');
  }, 600_000);
});
