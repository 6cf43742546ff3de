// An operator's orders to a distributed live run (`swarmguard operator <launch> <order>`), in one four-robot live
// run: it starts with monitor.onFlag report and the trained adversary on epuck-3; once the run is going the
// operator switches flags to isolate-and-stop over the bus (the operator login; the run's ACL lets only it give
// orders). The monitor answers with its on-flag event, and from then on flags act: the attacked robot is
// isolated and the feed (the robots' bridge) holds it, although the launch file said report. In the same run the
// operator e-stops epuck-0 (the feed zeroes its wheels while the others drive on) and releases it (it drives
// again), e-stops and releases epuck-3 while the monitor holds it (the release does not lift the monitor's hold),
// and orders the feed cannot carry out (an unknown robot, a malformed payload) are refused whole; then it injects
// fault:spin into epuck-1 for 30 s: its agent runs it from the tick it answered with (its ground truth says so),
// the monitor counts it as compromised and flags it, and the operator's `end` stops it early, at the same tick in
// every agent. Orders to a lock-step run, injections outside trial mode,
// orders that are not the console's words, unknown robots, an unreachable broker and a run that does not answer
// are refused before or instead of anything taking effect.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FeedSummary } from '../sim/distributed-feed.js';
import { runDistributed, startRunBroker } from '../src/distributed/launcher.js';
import { parseOrder, sendOrder, type OrderAnswer } from '../src/distributed/operator.js';
import { distributedConfig } from '../src/distributed/participant.js';
import { BusClient } from '../src/links/mqtt/client.js';
import { CONTROL_QOS, DEFAULT_QOS, SwarmTopics } from '../src/links/mqtt/topics.js';
import { loadLaunch } from '../src/launch/launch.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { distributedTestFiles, writeDistributedLaunch } from './helpers/distributed-launch.js';
import { sleep, until } from './helpers/mqtt.js';

const PASSWORD_ENV = 'SWARMGUARD_DISTRIBUTED_OPERATOR_TEST_PASSWORD';
const ATTACKED = 'epuck-3';
const STOPPED = 'epuck-0';
const INJECTED = 'epuck-1';
const files = distributedTestFiles('distributed-operator', PASSWORD_ENV);

type Event = Record<string, any>;

const liveLaunch = (name: string, seconds: number) =>
  writeDistributedLaunch(files.dir, name, PASSWORD_ENV, (l) => {
    l.duration = seconds;
    l.swarm.robots = 4;
    l.monitor.onFlag = 'report';
    l.injections = [{ ...l.injections[0], at: 2, duration: 10 }];
    l.distributed.mode = 'live';
  });

describe('operator orders to a distributed run', () => {
  it("reads the console's words (the robots first for estop and release) and refuses, before anything takes effect, other words, unknown robots, lock-step runs, injections outside trial mode or of attacks that do not load, an unreachable broker and a run that does not answer", async () => {
    expect(parseOrder(['onflag', 'isolate'])).toEqual({ kind: 'on-flag', onFlag: 'isolate' });
    expect(parseOrder(['estop', 'epuck-3'])).toEqual({ kind: 'estop', robots: ['epuck-3'], reason: 'operator' });
    expect(parseOrder(['estop', 'all', 'battery', 'low'])).toEqual({ kind: 'estop', robots: 'all', reason: 'battery low' });
    expect(parseOrder(['release', 'epuck-1,epuck-2'])).toEqual({ kind: 'release', robots: ['epuck-1', 'epuck-2'] });
    expect(() => parseOrder(['estop'])).toThrow(/estop: name the robots \(ids separated by commas\) or all/);
    expect(() => parseOrder(['release'])).toThrow(/release: name the robots/);
    expect(() => parseOrder(['release', 'all', 'now'])).toThrow(/release takes only the robots/);
    expect(() => parseOrder(['onflag', 'quarantine'])).toThrow(/onflag/);
    expect(parseOrder(['inject', 'epuck-1,epuck-2', 'fault:spin', '3'])).toEqual({ kind: 'inject', robots: ['epuck-1', 'epuck-2'], attack: 'fault:spin', seconds: 3 });
    expect(parseOrder(['inject', 'epuck-1', 'obs-noise:0.5', 'on=1', 'off=2'])).toEqual({ kind: 'inject', robots: ['epuck-1'], attack: 'obs-noise:0.5', seconds: 10, on: 1, off: 2 });
    expect(parseOrder(['end', 'epuck-1,epuck-2'])).toEqual({ kind: 'end-injection', robots: ['epuck-1', 'epuck-2'] });
    expect(() => parseOrder(['inject', 'epuck-3'])).toThrow(/usage: inject/);
    expect(() => parseOrder(['stop'])).toThrow(/'stop' is not an order over the bus.*estop <robot-id>/);
    expect(() => parseOrder(['estop', 'epuck-3', 'bell\u0007'])).toThrow(/printable/);
    const lockstep = writeDistributedLaunch(files.dir, 'operator-lockstep', PASSWORD_ENV, () => {});
    // The broker named does not exist: refused before any connection is tried.
    const nowhere = { broker: 'mqtt://127.0.0.1:1', log: () => {} };
    await expect(sendOrder(lockstep, { kind: 'on-flag', onFlag: 'isolate' }, nowhere)).rejects.toThrow(/operator orders are for live runs/);
    await expect(sendOrder(lockstep, { kind: 'estop', robots: 'all', reason: 'test' }, nowhere)).rejects.toThrow(/operator orders are for live runs/);
    const live = liveLaunch('operator-refusals', 14);
    await expect(sendOrder(live, { kind: 'estop', robots: ['epuck-0', 'epuck-12'], reason: 'test' }, nowhere)).rejects.toThrow(
      "unknown robot id 'epuck-12' (swarm ids: epuck-0, epuck-1, epuck-2, epuck-3)",
    );
    await expect(sendOrder(live, { kind: 'release', robots: ['epuck-0'] }, nowhere)).rejects.toThrow(/ECONNREFUSED.*\(the run's broker: --broker/);
    // An injection is checked as the launch file's are before anything is sent: trial mode, the robots, the attack.
    const inject = (attack: string, robots = ['epuck-1']) => ({ kind: 'inject' as const, robots, attack, seconds: 3 });
    const notTrial = writeDistributedLaunch(files.dir, 'operator-no-trial', PASSWORD_ENV, (l) => {
      l.trial = false;
      l.injections = [];
      l.distributed.mode = 'live';
    });
    await expect(sendOrder(notTrial, inject('fault:spin'), nowhere)).rejects.toThrow(/operator-no-trial\.yaml: injections: refused outside trial mode \(set trial: true\)/);
    await expect(sendOrder(live, inject('fault:spin', ['epuck-12']), nowhere)).rejects.toThrow("unknown robot id 'epuck-12'");
    await expect(sendOrder(live, inject('fault:wobble'), nowhere)).rejects.toThrow(/unknown fault 'wobble'/);
    await expect(sendOrder(live, inject(join(files.dir, 'no-such-adversary')), nowhere)).rejects.toThrow(/no-such-adversary/);
    await expect(sendOrder(live, { ...inject('fault:spin'), on: 0.01, off: 1 }, nowhere)).rejects.toThrow(/shorter than one control tick/);
    await expect(sendOrder(notTrial, { kind: 'end-injection', robots: ['epuck-1'] }, nowhere)).rejects.toThrow(/refused outside trial mode/);
    await expect(sendOrder(live, { kind: 'end-injection', robots: ['epuck-12'] }, nowhere)).rejects.toThrow("unknown robot id 'epuck-12'");
    // The run's broker with nobody on it: no answer within the timeout, said as such.
    const launch = await loadLaunch(live);
    await releaseRun(launch);
    const { broker, dir } = await startRunBroker(launch, distributedConfig(launch), () => {});
    try {
      await expect(sendOrder(live, { kind: 'estop', robots: 'all', reason: 'test' }, { broker: broker.url, timeoutMs: 500, log: () => {} })).rejects.toThrow(
        /no answer from the feed of 'operator-refusals' on mqtt:\/\/127\.0\.0\.1:\d+ within 0\.5 s/,
      );
    } finally {
      await broker.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('in one live run: switches flags from report to isolate-and-stop (the monitor answers, then holds the attacked robot, the feed too); e-stops and releases robots at the feed, whole orders only; injects a fault the monitor counts and flags, and ends it early in every agent at once', async () => {
    const seconds = 14;
    const path = liveLaunch('operator-live', seconds);
    const lines: string[] = [];
    let broker: string | null = null;
    let feedStarted = false;
    const feedOut = join(files.dir, 'feed-operator-live.json');
    const run = runDistributed(path, {
      embedded: true,
      feedOut,
      log: (l) => {
        lines.push(l);
        broker ??= /embedded broker on (mqtt:\/\/\S+)/.exec(l)?.[1] ?? null;
        feedStarted ||= /swarmguard feed: operator-live, 4 robots, live/.test(l);
      },
    });
    let finished = false;
    void run.finally(() => (finished = true));
    const order = (words: string) => sendOrder(path, parseOrder(words.split(' ')), { broker: broker!, timeoutMs: 3000, log: () => {} });
    // The operator: as soon as the broker is up, the order, again until the monitor (once it is subscribed) answers.
    let answer: OrderAnswer | null = null;
    while (!answer && !finished) {
      if (broker) answer = await sendOrder(path, { kind: 'on-flag', onFlag: 'isolate-and-stop' }, { broker, timeoutMs: 1500, log: () => {} }).catch(() => null);
      else await sleep(100);
    }
    // What the run says on its events (the monitor's isolations, the feed's answers), as the operator reads them.
    const heard: Event[] = [];
    const topics = new SwarmTopics('operator-live');
    const watcher = await BusClient.connect({ url: broker!, who: 'test operator', clientId: 'operator-test-watcher', username: 'operator', password: process.env[PASSWORD_ENV], log: () => {} });
    let eStop0: OrderAnswer, release0: OrderAnswer, eStop3: OrderAnswer, release3: OrderAnswer, injected: OrderAnswer, ended: OrderAnswer;
    try {
      await watcher.subscribe(topics.events, 'events', DEFAULT_QOS.events, (_t, msg) => heard.push(msg));
      await until('the feed ticking', () => feedStarted || finished);
      eStop0 = await order(`estop ${STOPPED} test stop`);
      await sleep(2000);
      release0 = await order(`release ${STOPPED}`);
      // Orders the feed cannot carry out: a robot it does not know (refused whole: epuck-0 is not stopped either),
      // and a payload its schema refuses (an unknown key: not half understood).
      watcher.publish(topics.control('feed'), { t: Date.now(), order: 'bad-robot', kind: 'estop', robots: [STOPPED, 'epuck-12'], reason: 'test' }, CONTROL_QOS);
      watcher.publish(topics.control('feed'), { t: Date.now(), order: 'bad-key', kind: 'estop', robots: [STOPPED], reason: 'test', also: 'release' }, CONTROL_QOS);
      // The attacked robot held by the monitor: e-stopped and released, it stays held.
      await until(`${ATTACKED} isolated`, () => finished || heard.some((e) => e.kind === 'isolate' && e.robot === ATTACKED), 30_000);
      eStop3 = await order(`estop ${ATTACKED}`);
      await sleep(500);
      release3 = await order(`release ${ATTACKED}`);
      // A spinning fault into epuck-1 for 30 s, run by its agent, ended by the operator after about 2 s.
      injected = await order(`inject ${INJECTED} fault:spin 30`);
      await until(`${INJECTED}'s injection started`, () => finished || heard.some((e) => e.kind === 'injection-start' && e.robot === INJECTED), 30_000);
      await sleep(1000);
      ended = await order(`end ${INJECTED}`);
      await until(`${INJECTED}'s injection over`, () => finished || heard.some((e) => e.kind === 'injection-end' && e.robot === INJECTED), 30_000);
    } finally {
      await watcher.close();
    }
    const exits = await run;
    const log = lines.join('\n');
    expect(exits.filter((e) => e.code !== 0), log).toEqual([]);
    expect(answer, log).not.toBeNull();
    expect(answer).toMatchObject({ kind: 'on-flag', onFlag: 'isolate-and-stop' });
    const runs = join(files.dir, 'runs-operator-live');
    const folder = join(runs, readdirSync(runs)[0]!);
    const events = readFileSync(join(folder, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Event);
    const feed = JSON.parse(readFileSync(feedOut, 'utf8')) as FeedSummary;
    const context = `${JSON.stringify(feed.eStops)}\n${log}`;
    // The order, as the monitor recorded it, at the tick it answered with; nothing acted on flags before it.
    const onFlag = events.find((e) => e.kind === 'on-flag');
    expect(onFlag, JSON.stringify(events)).toEqual({ tick: answer!.tick, kind: 'on-flag', onFlag: 'isolate-and-stop', reason: 'operator' });
    expect(events.filter((e) => e.kind === 'isolate' && e.tick < onFlag!.tick)).toEqual([]);
    // The attacked robot (flagged before or after the order) isolated and held from then on, by the feed too.
    const isolate = events.find((e) => e.kind === 'isolate' && e.robot === ATTACKED);
    expect(isolate, `${JSON.stringify(events)}\n${log}`).toMatchObject({ stopped: true });
    expect(isolate!.tick).toBeGreaterThanOrEqual(onFlag!.tick);
    expect(feed.heldTicks[ATTACKED], log).toBeGreaterThan(0);
    const summary = JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8'));
    expect(summary.isolations.onFlag).toBe('isolate-and-stop');

    // The e-stop of epuck-0: in force at the feed from the tick it answered with to its release's, the robot's
    // wheels zeroed on exactly those ticks (it stood still, within the twin's actuator noise) while the others drove.
    expect(eStop0!).toMatchObject({ kind: 'e-stop', robots: [STOPPED] });
    expect(release0!).toMatchObject({ kind: 'release', robots: [STOPPED], held: [] });
    const stops0 = feed.eStops.filter((r) => r.robot === STOPPED);
    expect(stops0, context).toHaveLength(1);
    const [stop0] = stops0;
    expect(stop0).toMatchObject({ fromTick: eStop0!.tick, toTick: release0!.tick, reason: 'test stop (operator)' });
    expect(release0!.tick - eStop0!.tick, context).toBeGreaterThan(10);
    expect(feed.eStoppedTicks[STOPPED]).toBe(release0!.tick - eStop0!.tick);
    expect(stop0!.travelM!, context).toBeLessThan(0.005);
    expect(stop0!.othersTravelM!, context).toBeGreaterThan(0.03);
    // Released, it drives again (under its policy, towards the others).
    expect(stop0!.afterReleaseM!, context).toBeGreaterThan(0.02);
    for (const id of ['epuck-1', 'epuck-2']) expect(feed.eStoppedTicks[id], id).toBe(0);
    // The attacked robot: e-stopped and released while the monitor held it; the release said it stays held, and it
    // did not move in the second after (later the others gather around it and push it; its clear would come
    // seconds after the injection ends at 12 s).
    expect(eStop3!).toMatchObject({ kind: 'e-stop', robots: [ATTACKED] });
    expect(release3!).toMatchObject({ kind: 'release', robots: [ATTACKED], held: [ATTACKED] });
    expect(events.filter((e) => e.kind === 'isolation-end' && e.robot === ATTACKED)).toEqual([]);
    const stop3 = feed.eStops.find((r) => r.robot === ATTACKED)!;
    expect(stop3, context).toMatchObject({ fromTick: eStop3!.tick, toTick: release3!.tick });
    expect(stop3.afterReleaseM!, context).toBeLessThan(0.005);
    // Refused whole: the unknown robot's order answered with why, nothing of it applied (epuck-0 stopped only
    // once); the malformed one refused by the feed's bus client, counted.
    expect(heard.find((e) => e.order === 'bad-robot'), JSON.stringify(heard)).toMatchObject({ kind: 'order-refused', why: expect.stringContaining("unknown robot id 'epuck-12' (swarm ids: epuck-0") });
    expect(heard.filter((e) => e.order === 'bad-key')).toEqual([]);
    expect(feed.orders).toEqual({ applied: 4, refused: 1 });
    expect(feed.refused, log).toBeGreaterThanOrEqual(1);
    // The monitor's record: each e-stop and release, by robot; the e-stopped robot was expected still (not flagged).
    const stopEvents = events.filter((e) => e.kind === 'e-stop' || e.kind === 'release').map((e) => `${e.kind} ${e.robot}`);
    expect(stopEvents, JSON.stringify(events)).toEqual([`e-stop ${STOPPED}`, `release ${STOPPED}`, `e-stop ${ATTACKED}`, `release ${ATTACKED}`]);
    expect(events.find((e) => e.kind === 'e-stop')).toMatchObject({ reason: 'test stop (operator)' });
    expect(events.filter((e) => e.kind === 'flag' && e.robot === STOPPED), JSON.stringify(events)).toEqual([]);

    // The injection: its agent answered with the ticks it runs it (30 s: 300 ticks) and started it then (its ground
    // truth, numbered as the agents number ticks); the operator's end stopped it at the tick its agent answered
    // with, and the monitor counted it as a compromise until then and flagged it.
    expect(injected!).toMatchObject({ kind: 'inject', attack: 'fault:spin', victims: [{ robot: INJECTED }] });
    const [span] = injected!.kind === 'inject' ? injected!.victims : [];
    expect(span!.toTick - span!.fromTick).toBe(300);
    expect(ended!).toMatchObject({ kind: 'end-injection', robots: [INJECTED] });
    const endTick = ended!.tick;
    expect(endTick - span!.fromTick, log).toBeGreaterThan(10);
    // Every agent placed it, and ended it, at the same ticks (the others make its draws from their copy of the run's stream).
    const placed = lines.filter((l) => l.includes("operator's injection of fault:spin")).map((l) => /ticks (\d+ to \d+)/.exec(l)?.[1]);
    expect(placed, log).toEqual(new Array(4).fill(`${span!.fromTick} to ${span!.toTick - 1}`));
    const endedAt = lines.filter((l) => l.includes("operator's end of the injections on")).map((l) => /at tick (\d+)/.exec(l)?.[1]);
    expect(endedAt, log).toEqual(new Array(4).fill(String(endTick)));
    const truth = heard.filter((e) => e.robot === INJECTED && (e.kind === 'injection-start' || e.kind === 'injection-end')).map(({ v: _v, ...e }) => e);
    expect(truth, JSON.stringify(heard)).toEqual([
      { tick: span!.fromTick, kind: 'injection-start', robot: INJECTED, attack: 'fault:spin' },
      { tick: endTick, kind: 'injection-end', robot: INJECTED, attack: 'fault:spin' },
    ]);
    expect(events.find((e) => e.kind === 'end-injection'), JSON.stringify(events)).toEqual({ tick: endTick, kind: 'end-injection', robot: INJECTED, reason: 'operator' });
    const outcome = summary.outcomes.find((o: Event) => o.robot === INJECTED);
    expect(outcome, JSON.stringify(summary.outcomes)).toMatchObject({ falseFlags: 0 });
    expect(outcome.compromisedTicks).toBeGreaterThanOrEqual(endTick - span!.fromTick - 2);
    expect(outcome.compromisedTicks).toBeLessThanOrEqual(endTick - span!.fromTick + 2);
    expect(outcome.detectionDelayTicks, log).not.toBeNull();
    expect(events.find((e) => e.kind === 'flag' && e.robot === INJECTED), JSON.stringify(events)).toBeDefined();
  }, 600_000);
});
