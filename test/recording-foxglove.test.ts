// Recordings Foxglove opens and reads at a glance: zstd-compressed chunks the project's own reader and
// replay still read, foxglove.SceneUpdate and foxglove.FrameTransforms channels whose messages validate
// against @foxglove/schemas' JSON Schemas, and the same channels served live over the Foxglove WebSocket
// protocol.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FrameTransforms, SceneUpdate } from '@foxglove/schemas';
import { FrameTransforms as FrameTransformsSchema, SceneUpdate as SceneUpdateSchema } from '@foxglove/schemas/jsonschema.js';
import wsProtocol, { type Channel, type MessageData, type ServerInfo } from '@foxglove/ws-protocol';
import { McapIndexedReader, type IReadable } from '@mcap/core';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { runLaunch, type RunSummary } from '../src/cli/run.js';
import { OnnxTeam } from '../src/policy/team.js';
import { RunController } from '../src/runtime/control.js';
import { loadLaunch } from '../src/launch/launch.js';
import { releaseRun } from '../src/runtime/run-spec.js';
import { SimLink } from '../sim/sim-link.js';
import { swarmTrial } from '../src/runtime/trial.js';
import { decompressHandlers } from '../src/recording/compression.js';
import { FoxgloveLiveService, MAX_BUFFERED_BYTES, ThrottledSocket } from '../src/recording/foxglove-live.js';
import { ARENA_FRAME, SceneSchedule, suspicionColour } from '../src/recording/foxglove-scene.js';
import { readRecording } from '../src/recording/reader.js';
import { replay } from '../src/recording/replay.js';
import { PROJECT_ROOT } from '../src/core/swarm-config.js';

const { FoxgloveClient } = wsProtocol;
const MAPPO = join(PROJECT_ROOT, 'policies', 'mappo-rendezvous');
const ajv = new Ajv({ allErrors: true });
const validScene = ajv.compile(SceneUpdateSchema);
const validTransforms = ajv.compile(FrameTransformsSchema);
const decoder = new TextDecoder();
/** Polling for what the sockets deliver: a bound for a loaded machine, not a timing being tested. */
const WAIT = { timeout: 20_000, interval: 20 };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'swarmguard-foxglove-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fast 6 s trial of 10 robots, epuck-2 spinning from 1 s to 4 s (flagged within a few ticks). */
function launchFile(name: string, extra = ''): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `name: ${name}\nswarm: { robots: 10, noise: default }\nlink: { kind: sim, mode: fast, seed: 3 }\npolicy: ${MAPPO}\nout: ${dir}\nduration: 6\ntrial: true\n` +
      `injections: [{ robot: epuck-2, at: 1, duration: 3, attack: 'fault:spin' }]\n${extra}`,
  );
  return path;
}

async function indexedReader(path: string) {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  const readable: IReadable = {
    size: async () => BigInt(size),
    read: async (offset, length) => {
      const buf = new Uint8Array(Number(length));
      await handle.read(buf, 0, buf.length, Number(offset));
      return buf;
    },
  };
  const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: await decompressHandlers() });
  return { reader, close: () => handle.close() };
}

/** Every message of a topic, decoded, with its log time; and the channel's schema. */
async function topic(path: string, name: string): Promise<{ schema: { name: string; encoding: string; text: string }; encoding: string; messages: { logTime: bigint; value: unknown }[] }> {
  const { reader, close } = await indexedReader(path);
  try {
    const channel = [...reader.channelsById.values()].find((c) => c.topic === name);
    if (!channel) throw new Error(`${path}: no channel ${name}`);
    const schema = reader.schemasById.get(channel.schemaId)!;
    const messages: { logTime: bigint; value: unknown }[] = [];
    for await (const m of reader.readMessages({ topics: [name] })) messages.push({ logTime: m.logTime, value: JSON.parse(decoder.decode(m.data)) });
    return { schema: { name: schema.name, encoding: schema.encoding, text: decoder.decode(schema.data) }, encoding: channel.messageEncoding, messages };
  } finally {
    await close();
  }
}

describe('recording for Foxglove', () => {
  let summary: RunSummary;
  let path: string;
  beforeAll(async () => {
    summary = await runLaunch(launchFile('fox'), { quiet: true, console: false }, () => {});
    path = join(summary.runDir, 'run.mcap');
  });

  it('compresses every chunk with zstd, and the reader and replay read it back', async () => {
    const { reader, close } = await indexedReader(path);
    try {
      expect(reader.chunkIndexes.length).toBeGreaterThan(0);
      for (const c of reader.chunkIndexes) {
        expect(c.compression).toBe('zstd');
        expect(c.compressedSize).toBeLessThan(c.uncompressedSize / 3n);
      }
    } finally {
      await close();
    }
    const run = await readRecording(path);
    expect(run.records).toHaveLength(summary.ticks);
    expect(run.events.some((e) => e.kind === 'flag' && e.robot === 'epuck-2')).toBe(true);
    const seen: number[] = [];
    const result = await replay(run, [{ name: 'collect', tick: (r) => void seen.push(r.tick) }], { speed: Number.POSITIVE_INFINITY });
    expect(result.ticks).toBe(summary.ticks);
    expect(seen).toEqual(run.records.map((r) => r.tick));
  });

  it('record: { compression: none } stores chunks as they are, read back the same', async () => {
    const plain = await runLaunch(launchFile('plain', 'record: { compression: none }\n'), { quiet: true, console: false }, () => {});
    const plainPath = join(plain.runDir, 'run.mcap');
    const { reader, close } = await indexedReader(plainPath);
    try {
      expect(reader.chunkIndexes.every((c) => c.compression === '' && c.compressedSize === c.uncompressedSize)).toBe(true);
    } finally {
      await close();
    }
    expect(readFileSync(plainPath).includes('"consistency":')).toBe(true);
    // Same seed, same run: the same records whichever way the chunks are stored.
    expect((await readRecording(plainPath)).records).toEqual((await readRecording(path)).records);
  });

  it('places every robot frame in the arena frame each tick, at its recorded pose', async () => {
    const { schema, encoding, messages } = await topic(path, '/foxglove/transforms');
    expect([schema.name, schema.encoding, encoding]).toEqual(['foxglove.FrameTransforms', 'jsonschema', 'json']);
    expect(JSON.parse(schema.text)).toEqual(FrameTransformsSchema);
    const run = await readRecording(path);
    expect(messages).toHaveLength(run.records.length);
    messages.forEach(({ value }, k) => {
      expect(validTransforms(value), JSON.stringify(validTransforms.errors)).toBe(true);
      const { transforms } = value as FrameTransforms;
      expect(transforms.map((t) => t.child_frame_id)).toEqual(run.robotIds);
      const poses = run.records[k]!.truePoses!;
      transforms.forEach((t, i) => {
        expect(t.parent_frame_id).toBe(ARENA_FRAME);
        expect(t.translation.x).toBeCloseTo(poses[i]!.x, 4);
        expect(t.translation.y).toBeCloseTo(poses[i]!.y, 4);
        // The heading as a rotation about z.
        expect(2 * Math.atan2(t.rotation.z, t.rotation.w)).toBeCloseTo(poses[i]!.theta, 4);
      });
    });
  });

  it('draws the arena and every robot labelled with its id, coloured by its suspicion, flagged robots marked', async () => {
    const { schema, encoding, messages } = await topic(path, '/foxglove/scene');
    expect([schema.name, schema.encoding, encoding]).toEqual(['foxglove.SceneUpdate', 'jsonschema', 'json']);
    expect(JSON.parse(schema.text)).toEqual(SceneUpdateSchema);
    const monitor = new Map((await topic(path, '/monitor')).messages.map((m) => [m.logTime, m.value as { robots: { id: string; suspicion: number; flagged: boolean }[] }]));
    const run = await readRecording(path);
    // Sent at the first tick and when a robot's look changes, not every tick.
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.length).toBeLessThan(run.records.length);
    let flaggedSeen = false;
    let redSeen = false;
    for (const { logTime, value } of messages) {
      expect(validScene(value), JSON.stringify(validScene.errors)).toBe(true);
      const { entities } = value as SceneUpdate;
      expect(entities.map((e) => e.id)).toEqual([ARENA_FRAME, ...run.robotIds]);
      // The arena: floor and four walls in the arena frame.
      expect(entities[0]!.frame_id).toBe(ARENA_FRAME);
      expect(entities[0]!.cubes).toHaveLength(5);
      const tick = monitor.get(logTime)!;
      run.robotIds.forEach((id, i) => {
        const e = entities[i + 1]!;
        const m = tick.robots[i]!;
        // Drawn in its own frame, following the transforms.
        expect([e.frame_id, e.frame_locked]).toEqual([id, true]);
        expect(e.texts[0]!.text.startsWith(id)).toBe(true);
        expect(e.cylinders[0]!.color).toEqual(suspicionColour(m.suspicion));
        expect(e.arrows).toHaveLength(1);
        // A flagged robot: a red halo and the word in its label.
        expect(e.cylinders.length === 2).toBe(m.flagged);
        expect(e.texts[0]!.text.includes('flagged')).toBe(m.flagged);
        if (m.flagged) {
          flaggedSeen = true;
          expect(id).toBe('epuck-2');
          expect(e.cylinders[1]!.color.r).toBeGreaterThan(3 * e.cylinders[1]!.color.g);
        }
        if (m.suspicion >= 0.9) redSeen = true;
      });
    }
    expect(flaggedSeen).toBe(true);
    expect(redSeen).toBe(true);
  });
});

describe('suspicion colours and when the scene is sent', () => {
  it('runs from green through amber to red in tenths rounded down, grey when there is none', () => {
    const green = suspicionColour(0);
    const red = suspicionColour(1);
    expect(green.g).toBeGreaterThan(green.r);
    expect(red.r).toBeGreaterThan(red.g);
    expect(suspicionColour(0.06)).toEqual(green);
    expect(suspicionColour(0.3)).not.toEqual(suspicionColour(0.29));
    expect(suspicionColour(0.5).r).toBeGreaterThan(0.9);
    expect(suspicionColour(0.5).g).toBeGreaterThan(0.7);
    expect(suspicionColour(1.7)).toEqual(red);
    expect(suspicionColour(Number.NaN)).toEqual({ r: 0.5, g: 0.5, b: 0.5, a: 1 });
  });

  it('is sent first, then when a look changes, and live at least every refresh', () => {
    const record = (suspicion: number[], flagged = suspicion.map(() => false)) =>
      ({ tick: 0, timeMs: 0, poses: suspicion.map(() => ({ x: 0.1, y: 0.1, theta: 0 })), truePoses: null, intended: [], commands: [], stopped: [], belief: [], consistency: [], suspicion, flagged, compromised: [] }) as Parameters<SceneSchedule['due']>[0];
    const recorded = new SceneSchedule();
    expect([0, 0.05, 0.09, 0.12, 0.12, 0.12].map((s) => recorded.due(record([s, 0])))).toEqual([true, false, false, true, false, false]);
    expect(recorded.due(record([0.12, 0], [false, true]))).toBe(true);
    const live = new SceneSchedule(3);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => live.due(record([0, 0])))).toEqual([true, false, false, true, false, false, true]);
  });
});

describe('live Foxglove server', () => {
  it('a ws-protocol client gets the advertised channels, a SceneUpdate and transforms from a running trial; the server is read only', async () => {
    const launch = await loadLaunch(launchFile('live', 'foxglove: { port: 0 }\n'));
    expect(launch.foxglove).toEqual({ host: '127.0.0.1', port: 0 });
    const team = await OnnxTeam.load(launch.policyDir, launch.settings.observation);
    const service = new FoxgloveLiveService(launch.foxglove!);
    const lines: string[] = [];
    let client: InstanceType<typeof FoxgloveClient> | null = null;
    try {
      const link = new SimLink(launch.settings, 'fast', launch.seed);
      const run = swarmTrial(launch.settings, team, link, { safety: launch.safety, monitor: launch.monitor, trialMode: true, injections: launch.injections, seed: launch.seed });
      await service.start({ launch, run, control: new RunController(run, launch.settings), policy: { name: team.name, dir: launch.policyDir, files: team.fileHashes }, runDir: dir, log: (l) => lines.push(l) });
      const server = service.server!;
      expect(lines.join('\n')).toMatch(/^foxglove: ws:\/\/127\.0\.0\.1:\d+ {2}\(read only; this machine only/m);

      const ws = new WebSocket(server.url(), [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
      client = new FoxgloveClient({ ws: ws as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'] });
      let info: ServerInfo | null = null;
      const channels: Channel[] = [];
      const received = new Map<number, unknown[]>();
      client.on('serverInfo', (i) => (info = i));
      const subscriptions = new Map<string, number>();
      client.on('advertise', (cs) => {
        channels.push(...cs);
        for (const c of cs) subscriptions.set(c.topic, client!.subscribe(c.id));
      });
      client.on('message', (m: MessageData) => {
        const list = received.get(m.subscriptionId) ?? [];
        list.push(JSON.parse(decoder.decode(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength))));
        received.set(m.subscriptionId, list);
      });
      // Every advertised channel subscribed to before the first tick.
      await vi.waitFor(() => expect(channels.length > 0 && server.subscribedChannels === channels.length).toBe(true), WAIT);
      expect(info!.capabilities).toEqual([]);
      expect(channels.map((c) => c.topic)).toEqual(expect.arrayContaining(['/foxglove/scene', '/foxglove/transforms', '/monitor', '/robots/poses', '/events']));
      const scene = channels.find((c) => c.topic === '/foxglove/scene')!;
      expect([scene.schemaName, scene.schemaEncoding, scene.encoding]).toEqual(['foxglove.SceneUpdate', 'jsonschema', 'json']);

      let reported = 0;
      while (run.tick < launch.ticks) {
        await run.step();
        service.tick(run.records.at(-1)!, run.events.slice(reported));
        reported = run.events.length;
        link.advance();
      }
      const subscriptionOf = (topicName: string) => subscriptions.get(topicName)!;
      await vi.waitFor(() => expect(received.get(subscriptionOf('/foxglove/transforms'))?.length).toBe(launch.ticks), WAIT);
      const scenes = received.get(subscriptionOf('/foxglove/scene')) ?? [];
      expect(scenes.length).toBeGreaterThan(0);
      for (const s of scenes) expect(validScene(s), JSON.stringify(validScene.errors)).toBe(true);
      expect((scenes[0] as SceneUpdate).entities.map((e) => e.id)).toEqual([ARENA_FRAME, ...launch.settings.robotIds]);
      expect(received.get(subscriptionOf('/monitor'))).toHaveLength(launch.ticks);
    } finally {
      client?.close();
      await service.stop();
      await team.release();
      await releaseRun(launch);
    }
  });

  it('skips message data to a viewer too far behind, never its control messages, and sends again once it catches up', () => {
    const sent: unknown[] = [];
    const fake = { bufferedAmount: 0, send: (d: unknown) => void sent.push(d) };
    let drops = 0;
    const socket = new ThrottledSocket(fake as unknown as WebSocket, () => drops++);
    const data = new Uint8Array([1, 2, 3]);
    socket.send(data);
    fake.bufferedAmount = MAX_BUFFERED_BYTES + 1;
    socket.send(data);
    socket.send(data);
    socket.send('{"op":"advertise"}');
    fake.bufferedAmount = 0;
    socket.send(data);
    expect(sent).toEqual([data, '{"op":"advertise"}', data]);
    // Logged once per stretch of skipping.
    expect(drops).toBe(1);
  });

  it('refuses a port in use naming the key; enabled: false serves nothing', async () => {
    const first = await loadLaunch(launchFile('busy1', 'foxglove: { port: 0 }\n'));
    const a = new FoxgloveLiveService(first.foxglove!);
    const ctx = { launch: first, log: () => {} } as unknown as Parameters<FoxgloveLiveService['start']>[0];
    await a.start(ctx);
    try {
      const port = Number(new URL(a.server!.url()).port);
      const b = new FoxgloveLiveService({ host: '127.0.0.1', port });
      await expect(b.start(ctx)).rejects.toThrow(/busy1\.yaml: foxglove: port \d+ on 127\.0\.0\.1 is in use \(set foxglove\.port/);
    } finally {
      await a.stop();
    }
    expect((await loadLaunch(launchFile('off', 'foxglove: { enabled: false }\n'))).foxglove).toBeNull();
    expect((await loadLaunch(launchFile('none'))).foxglove).toBeNull();
    await expect(loadLaunch(launchFile('bad', 'foxglove: { port: 70000 }\n'))).rejects.toThrow(/bad\.yaml.*foxglove\.port/);
    await expect(loadLaunch(launchFile('badrec', 'record: { compression: lz5 }\n'))).rejects.toThrow(/badrec\.yaml: record: true, false or \{ compression: zstd \| none \}/);
  });

  it('swarmguard run serves it when the launch file has a foxglove block, and closes it at the end', async () => {
    const lines: string[] = [];
    await runLaunch(launchFile('served', 'foxglove: { port: 0 }\n'), { quiet: true, console: false }, (l) => lines.push(l));
    const url = lines.map((l) => /^foxglove: (ws:\/\/\S+)/.exec(l)?.[1]).find(Boolean);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    // Closed with the run: a new connection is refused.
    const ws = new WebSocket(url!);
    await expect(new Promise((resolve, reject) => (ws.on('open', resolve), ws.on('error', reject)))).rejects.toThrow(/ECONNREFUSED/);
  });
});
