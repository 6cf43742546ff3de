// The distributed runtime end to end: 10 agent processes, the pose feed and the monitor, each its own
// `swarmguard` process, over Debian's mosquitto on loopback (logins + the run's ACL). In lock-step they
// reproduce the single-process fast trial of the same launch file exactly, three injections included (OnnxTeam hosting one robot is
// bit-identical to the batched run: test/distributed-team.test.ts); a killed agent goes offline (last
// will) and the feed's command watchdog stops its robot while the others go on.
import { readRecording } from '../src/recording/reader.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedSummary } from '../sim/distributed-feed.js';
import { runDistributed, spawnRole } from '../src/distributed/launcher.js';
import { BusClient } from '../src/links/mqtt/client.js';
import { SwarmTopics } from '../src/links/mqtt/topics.js';
import { singleProcessTrial, startDistributedMosquitto, writeDistributedLaunch } from './helpers/distributed-launch.js';
import { mosquittoSkipReason, type Mosquitto } from '../sim/mosquitto.js';

const skip = mosquittoSkipReason();
const PASSWORD = 'distributed-test-password';
const PASSWORD_ENV = 'SWARMGUARD_DISTRIBUTED_TEST_PASSWORD';

let dir: string;
let mosquitto: Mosquitto | null = null;

function writeLaunch(name: string, edit: (l: Record<string, any>) => void): string {
  return writeDistributedLaunch(dir, name, PASSWORD_ENV, edit);
}

describe.skipIf(skip !== null)(`distributed run over mosquitto${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const ids = Array.from({ length: 10 }, (_, i) => `epuck-${i}`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'swarmguard-distributed-test-'));
    process.env[PASSWORD_ENV] = PASSWORD;
    // Both runs' ACLs, and a test observer that reads commands and statuses.
    mosquitto = await startDistributedMosquitto(dir, {
      password: PASSWORD,
      ids,
      swarms: ['dist-repro', 'dist-kill'],
      observerReads: ['swarmguard/v1/+/robot/+/cmd', 'swarmguard/v1/+/status/#'],
    });
  }, 60_000);

  afterAll(async () => {
    await mosquitto?.stop();
    delete process.env[PASSWORD_ENV];
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('10 agent processes + feed + monitor in lock-step reproduce the single-process trial with three injections: same events, flags, detection ticks, final poses (bit for bit)', async () => {
    const path = writeLaunch('dist-repro', (l) => {
      l.duration = 12;
      // A trained adversary, and two attacks drawing from the run's one random stream (each agent keeps its
      // copy in step by making the other robots' draws).
      l.injections = [
        { robot: 'epuck-1', at: 2, duration: 4, attack: 'fault:random' },
        { robot: 'epuck-6', at: 3, duration: 5, attack: 'obs-noise:0.5' },
        { ...l.injections[0], at: 3, duration: 6 },
      ];
      l.distributed.stepTimeoutMs = 30_000; // a loaded machine never makes the feed give up on a living agent
    });
    // The single-process fast trial of the same file (what `swarmguard run` does in fast mode).
    const single = await singleProcessTrial(path);
    expect(single.events.some((e) => e.kind === 'flag' && e.robot === 'epuck-3')).toBe(true);

    const lines: string[] = [];
    const feedOut = join(dir, 'feed-repro.json');
    const exits = await runDistributed(path, { broker: mosquitto!.url, feedOut, log: (l) => lines.push(l) });
    expect(exits.filter((e) => e.code !== 0), lines.join('\n')).toEqual([]);
    expect(exits).toHaveLength(12);

    const runs = readdirSync(join(dir, 'runs-dist-repro'));
    expect(runs).toHaveLength(1);
    const folder = join(dir, 'runs-dist-repro', runs[0]!);
    const events = readFileSync(join(folder, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // Every event with its tick, and every alert with its suspicion and evidence values, as in the single run.
    expect(events).toEqual(JSON.parse(JSON.stringify(single.events)));
    const summary = JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8'));
    expect(summary.outcomes).toEqual(single.outcomes);
    expect(summary.ticks).toBe(120);
    // The monitor records the distributed run too: its flags tick by tick and its events, as the single run's.
    const recording = await readRecording(join(folder, 'run.mcap'));
    expect(recording.records.map((r) => r.flagged)).toEqual(single.flagged);
    expect(recording.events).toEqual(JSON.parse(JSON.stringify(single.events)));
    const feed = JSON.parse(readFileSync(feedOut, 'utf8')) as FeedSummary;
    expect(feed.ticks).toBe(120);
    expect(Object.values(feed.watchdogStops).every((n) => n === 0)).toBe(true);
    expect(feed.finalTruePoses).toEqual(single.truePoses);
    expect(feed.finalPoses).toEqual(single.poses);
    const compromised = single.outcomes.filter((o) => o.compromisedTicks > 0);
    expect(compromised).toHaveLength(3);
    const detected = compromised.filter((o) => o.detectionDelayTicks !== null).length;
    expect(lines.some((l) => l.includes(`[monitor]   detected ${detected} of 3 compromised robot(s); 0 false flag(s)`))).toBe(true);
  }, 600_000);

  it('an agent killed mid-trial goes offline (its last will) and its robot is stopped by the command watchdog; every other robot is commanded every tick', async () => {
    const path = writeLaunch('dist-kill', (l) => {
      l.duration = 6;
      l.trial = false;
      l.injections = [];
      l.distributed.stepTimeoutMs = 20_000; // long: only the last will (not a timeout) may stop the victim early
    });
    const topics = new SwarmTopics('dist-kill');
    const observer = await BusClient.connect({ url: mosquitto!.url, who: 'test observer', username: 'observer', password: PASSWORD, log: () => {} });
    const children: ReturnType<typeof spawnRole>[] = [];
    try {
      const cmdTicks = new Map<string, Set<number>>(ids.map((id) => [id, new Set()]));
      const statuses: { role: string; state: string }[] = [];
      await observer.subscribe(topics.everyStatus, 'status', 1, (t, msg) => statuses.push({ role: topics.parseStatus(t)!, state: msg.state }));
      const victim = 'epuck-5';
      let killedAfter = -1;
      const lines: string[] = [];
      const common = [path, '--broker', mosquitto!.url];
      await observer.subscribe(topics.everyRobot('cmd'), 'cmd', 0, (t, msg) => {
        const id = topics.parseRobot(t)!.id;
        cmdTicks.get(id)!.add(msg.tick);
        if (id === victim && msg.tick >= 15 && killedAfter < 0) {
          killedAfter = msg.tick;
          children.find((c) => c.child.spawnargs.includes(victim))!.child.kill('SIGKILL');
        }
      });
      const feedOut = join(dir, 'feed-kill.json');
      children.push(spawnRole('monitor', ['monitor', ...common], (l) => lines.push(l)));
      for (const id of ids) children.push(spawnRole(`agent ${id}`, ['agent', '--robot', id, ...common], (l) => lines.push(l)));
      children.push(spawnRole('feed', ['feed', ...common, '--out', feedOut], (l) => lines.push(l)));
      const exits = await Promise.all(children.map((c) => c.exited));
      expect(killedAfter, lines.join('\n')).toBeGreaterThanOrEqual(15);
      for (const e of exits) {
        if (e.role === `agent ${victim}`) expect(e.signal).toBe('SIGKILL');
        else expect(e.code, `${e.role}\n${lines.join('\n')}`).toBe(0);
      }
      // The broker published the victim's last will.
      expect(statuses).toContainEqual({ role: `agent/${victim}`, state: 'offline' });
      const feed = JSON.parse(readFileSync(feedOut, 'utf8')) as FeedSummary;
      expect(feed.ticks).toBe(60);
      // Stopped by the watchdog from the first tick it sent no command for, to the end; nobody else ever.
      const lastVictimTick = Math.max(...cmdTicks.get(victim)!);
      expect(lastVictimTick).toBeLessThan(59);
      expect(feed.watchdogStops[victim]).toBe(60 - (lastVictimTick + 1));
      for (const id of ids.filter((x) => x !== victim)) {
        expect(feed.watchdogStops[id]).toBe(0);
        expect(cmdTicks.get(id)!.size).toBe(60);
      }
      expect(lines.some((l) => l.includes(`[monitor] swarmguard monitor: agent/${victim} went offline`))).toBe(true);
      // The others went on as before: the monitor flagged none of them.
      const runs = readdirSync(join(dir, 'runs-dist-kill'));
      const events = readFileSync(join(dir, 'runs-dist-kill', runs[0]!, 'events.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      expect(events.filter((e) => e.kind === 'flag' && e.robot !== victim)).toEqual([]);
    } finally {
      for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await observer.close();
    }
  }, 600_000);
});
