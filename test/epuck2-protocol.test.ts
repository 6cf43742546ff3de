import { describe, expect, it } from 'vitest';
import { resolveSwarmConfig } from '../src/core/swarm-config.js';
import { LiveTwin } from '../sim/live.js';
import { proximityReadings } from '../sim/protocol-twin/ir-model.js';
import { readActuators } from '../src/links/epuck2/actuators.js';
import { unwrapStepDelta, WheelOdometry } from '../src/links/epuck2/odometry.js';
import { decodeSensorBlock, encodeSensorBlock, toInt16, type Epuck2Sensors } from '../src/links/epuck2/sensors.js';
import { encodeSercomExchange, parseSercomChain, sercomProtocol } from '../src/links/epuck2/sercom-codec.js';
import { decodeWifiCommand, encodeWifiCommand, encodeWifiSensorReply, wifiProtocol } from '../src/links/epuck2/wifi-codec.js';
import { DEFAULT_SAFETY, SafetyLayer } from '../src/runtime/safety.js';
import { ManualClock } from './helpers.js';

const sensors: Epuck2Sensors = {
  acc: [1, -2, 2048],
  gyro: [3, -4, 5],
  proximity: [100, 200, 300, 400, 500, 600, 700, 4000],
  ambient: [9, 8, 7, 6, 5, 4, 3, 2],
  tofMm: 1234,
  leftSteps: -32768,
  rightSteps: 32767,
  batteryRaw: 3500,
  selector: 15,
  ground: [10, 20, 30],
  button: 1,
};
const params = resolveSwarmConfig({ robots: 2 }).robots[0]!;

describe('e-puck2 wire codecs', () => {
  it('Wi-Fi command: 21 bytes, 0x80, sensors requested, speeds int16 LE at bytes 3-6, actuator block read back', () => {
    const b = encodeWifiCommand({ left: -1100, right: 513, leds: 0x21, rgb: [100, 0, 50], sound: 2 });
    expect(b.length).toBe(21);
    expect([b[0], b[1], b[2]]).toEqual([0x80, 0x02, 0]);
    expect(b.readInt16LE(3)).toBe(-1100);
    expect(b.readInt16LE(5)).toBe(513);
    expect(b[7]).toBe(0x21);
    expect(decodeWifiCommand(b)).toMatchObject({ requestSensors: true, requestImage: false, actuators: { left: -1100, right: 513, leds: 0x21, sound: 2 } });
    expect(() => decodeWifiCommand(Buffer.concat([Buffer.from([0x7f]), b.subarray(1)]))).toThrow(/0x7f/);
    expect(() => encodeWifiCommand({ left: 40000, right: 0 })).toThrow(/int16/);
  });

  it('sensor block: the documented offsets (proximity at 37, steps at 79, selector at 89), 104 bytes on Wi-Fi and 103 on sercom', () => {
    const wifi = encodeSensorBlock(sensors, 104);
    expect(wifi.readUInt16LE(37)).toBe(100);
    expect(wifi.readUInt16LE(37 + 14)).toBe(4000);
    expect(wifi.readInt16LE(79)).toBe(-32768);
    expect(wifi.readInt16LE(81)).toBe(32767);
    expect(wifi[89]).toBe(15);
    expect(wifi[102]).toBe(1);
    expect(decodeSensorBlock(wifi, 0, 104)).toEqual(sensors);
    const bt = encodeSensorBlock(sensors, 103);
    expect(bt.length).toBe(103);
    expect(decodeSensorBlock(bt, 0, 103)).toEqual({ ...sensors, button: null });
  });

  it('Wi-Fi replies: 0x02 + 104 bytes accepted; short, long and other headers refused with their reason', () => {
    const good = encodeWifiSensorReply(sensors);
    expect(good.length).toBe(105);
    const ok = wifiProtocol.decodeReply(good);
    expect(ok.ok && ok.sensors.proximity).toEqual(sensors.proximity);
    expect(wifiProtocol.decodeReply(good.subarray(0, 60))).toMatchObject({ ok: false, reason: 'short' });
    expect(wifiProtocol.decodeReply(Buffer.concat([good, Buffer.from([0])]))).toMatchObject({ ok: false, reason: 'long' });
    const image = Buffer.from(good);
    image[0] = 0x01;
    expect(wifiProtocol.decodeReply(image)).toMatchObject({ ok: false, reason: 'bad-header', detail: expect.stringContaining('0x01') });
    expect(wifiProtocol.checkFirstByte(0x03)).toMatchObject({ reason: 'bad-header' });
    expect(wifiProtocol.checkFirstByte(0x02)).toBeNull();
  });

  it('sercom: F7 + 19 actuator bytes + F8 + 00 out, a 103-byte reply back; the robot side parses chains and skips unknown commands', () => {
    const b = encodeSercomExchange({ left: 300, right: -300 });
    expect(b.length).toBe(22);
    expect([b[0], b[20], b[21]]).toEqual([0xf7, 0xf8, 0x00]);
    expect(readActuators(b, 1)).toMatchObject({ left: 300, right: -300 });
    expect(parseSercomChain(b)).toEqual({ kind: 'chain', used: 22, commands: [{ kind: 'set-actuators', actuators: readActuators(b, 1) }, { kind: 'all-sensors' }] });
    expect(parseSercomChain(b.subarray(0, 10))).toEqual({ kind: 'incomplete' });
    expect(parseSercomChain(Buffer.from([0xbc, 0x10, 0x00, 0xf0, 0xff, 0xaf, 0x00]))).toMatchObject({ kind: 'chain', commands: [{ kind: 'set-speed', left: 16, right: -16 }, { kind: 'steps' }] });
    expect(parseSercomChain(Buffer.from([0x91, 0xf8, 0x00, 0xf8]))).toMatchObject({ kind: 'error', used: 3, detail: expect.stringContaining('0x91') });
    expect(sercomProtocol.decodeReply(encodeSensorBlock(sensors, 103))).toMatchObject({ ok: true });
    expect(sercomProtocol.decodeReply(encodeSensorBlock(sensors, 104))).toMatchObject({ ok: false, reason: 'long' });
  });
});

describe('wheel odometry from int16 step counters', () => {
  it('unwraps across the int16 boundary in both directions', () => {
    expect(unwrapStepDelta(32700, -32700)).toBe(136);
    expect(unwrapStepDelta(-32700, 32700)).toBe(-136);
    expect(unwrapStepDelta(5, -5)).toBe(-10);
    expect(toInt16(32768 + 5)).toBe(-32763);
  });

  it('drives straight through a counter wrap-around to the distance the wheels travelled', () => {
    const odo = new WheelOdometry(params, { x: 0.1, y: 0.2, theta: 0 });
    let total = 32000; // near the top of the int16 range
    odo.update(toInt16(total), toInt16(total), 0);
    for (let t = 1; t <= 40; t++) {
      total += 100; // 1000 steps/s at 10 Hz
      expect(odo.update(toInt16(total), toInt16(total), t * 100)).toEqual({ ok: true });
    }
    const metres = (4000 / params.stepsPerRevolution) * 2 * Math.PI * params.wheelRadius;
    expect(odo.pose!.x).toBeCloseTo(0.1 + metres, 9);
    expect(odo.pose!.y).toBeCloseTo(0.2, 9);
    expect(odo.totalLeft).toBe(4000);
  });

  it('turns on the spot by the angle the wheel difference gives', () => {
    const odo = new WheelOdometry(params, { x: 1, y: 1, theta: 0 });
    odo.update(0, 0, 0);
    // A quarter turn: each wheel travels (pi/2) * wheelDistance / 2.
    const steps = Math.round(((Math.PI / 2) * (params.wheelDistance / 2) * params.stepsPerRevolution) / (2 * Math.PI * params.wheelRadius));
    for (let k = 1; k <= 10; k++) odo.update(toInt16((-steps * k) / 10), toInt16((steps * k) / 10), k * 100);
    expect(odo.pose!.theta).toBeCloseTo(Math.PI / 2, 2);
    expect(Math.hypot(odo.pose!.x - 1, odo.pose!.y - 1)).toBeLessThan(1e-4); // integer steps: a fraction of a step apart
  });

  it('refuses a jump no wheel can make (not integrated), takes a lasting one as a new reference with the pose unknown, and loses the pose after a gap too long to unwrap', () => {
    const odo = new WheelOdometry(params, { x: 1, y: 1, theta: 0 }, { toleranceMs: 250, rebaseAfter: 3 });
    odo.update(0, 0, 0);
    expect(odo.update(20000, 20000, 100)).toMatchObject({ ok: false, detail: expect.stringContaining('jumped') });
    expect(odo.pose).toEqual({ x: 1, y: 1, theta: 0 });
    expect(odo.update(100, 100, 200)).toEqual({ ok: true });
    // Counters that move far away and stay there: taken as the new reference on the third reading, never as motion.
    expect(odo.update(-30000, -30000, 300)).toMatchObject({ ok: false });
    expect(odo.update(-29999, -29999, 400)).toMatchObject({ ok: false });
    expect(odo.update(-29998, -29998, 500)).toMatchObject({ ok: true, rebased: expect.stringContaining('reset') });
    expect(odo.rebases).toBe(1);
    expect(odo.pose).toBeNull();
    expect(odo.update(-29990, -29990, 700)).toEqual({ ok: true });
    odo.relocate({ x: 0.5, y: 0.5, theta: 0 });
    expect(odo.pose).toEqual({ x: 0.5, y: 0.5, theta: 0 });
    // Driving at full speed, 30 s without a reading: the counters may have wrapped.
    odo.commanded(1100, 1100);
    expect(odo.update(-29990, -29990, 30_800)).toMatchObject({ ok: true, rebased: expect.stringContaining('wrapped') });
    expect(odo.pose).toBeNull();
    expect(odo.rebases).toBe(2);
  });
});

describe('proximity: the twin IR model and the safety layer', () => {
  it('a robot facing a wall 1 cm away reads high on its front sensors and background behind', () => {
    const s = resolveSwarmConfig({ robots: 2, noise: 'off' });
    const r = s.robots[0]!.bodyRadius;
    const twin = new LiveTwin(s, { seed: 1, clock: new ManualClock(), startPoses: [{ x: 2 - r - 0.01, y: 1, heading: 0 }, { x: 0.5, y: 1, heading: 0 }] });
    const radius = s.robots.map((p) => p.bodyRadius);
    const ps = proximityReadings(twin.world.truth, 0, 2, radius, { width: 2, height: 2 });
    expect(ps[0]).toBeGreaterThan(500);
    expect(ps[7]).toBeGreaterThan(500);
    expect(ps[3]).toBe(40);
    expect(ps[4]).toBe(40);
    // The other robot is far from everything.
    expect(proximityReadings(twin.world.truth, 1, 2, radius, { width: 2, height: 2 })).toEqual(new Array(8).fill(40));
  });

  it('the safety layer refuses forward commands into an obstacle ahead, lets turning and reversing pass, and is unchanged without proximity', () => {
    const robots = resolveSwarmConfig({ robots: 2 }).robots;
    const pose = { x: 1, y: 1, theta: 0, stampMs: 1000 };
    const close = [900, 40, 40, 40, 40, 40, 40, 40];
    const s = new SafetyLayer(robots, { width: 2, height: 2 }, { ...DEFAULT_SAFETY, obstacleProximity: 300 });
    expect(s.filter(0, 0.5, 0.5, pose, 1000).stopped).toBeNull();
    s.useProximity((i) => (i === 0 ? close : null));
    expect(s.filter(0, 0.5, 0.5, pose, 1000)).toEqual({ left: 0, right: 0, stopped: 'obstacle' });
    expect(s.filter(0, -0.5, 0.5, pose, 1000).stopped).toBeNull();
    expect(s.filter(0, -0.5, -0.5, pose, 1000).stopped).toBeNull();
    expect(s.filter(1, 0.5, 0.5, pose, 1000).stopped).toBeNull();
    // A reading behind the robot does not stop it driving forward.
    s.useProximity(() => [40, 40, 40, 900, 900, 40, 40, 40]);
    expect(s.filter(0, 0.5, 0.5, pose, 1000).stopped).toBeNull();
    expect(s.stops.obstacle).toBe(1);
  });
});
