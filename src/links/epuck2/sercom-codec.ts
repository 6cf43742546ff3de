// e-puck2 advanced sercom v2 over Bluetooth/USB serial (docs/epuck2.md): binary commands are the negated
// letter or code (a byte with the top bit set), they chain, and the chain ends with 0x00; replies come back
// concatenated in order with no header. One exchange per tick: F7 + 19 actuator bytes (set all actuators,
// -0x09) + F8 (all sensors, -0x08) + 00, 22 bytes out, 103 bytes back. Pure functions for the client and the
// protocol twin.
import { ACTUATOR_BYTES, readActuators, writeActuators, type Epuck2Actuators } from './actuators.js';
import type { DecodedReply, LockStepProtocol } from './protocol.js';
import { decodeSensorBlock, encodeSensorBlock, SERCOM_SENSOR_BYTES, type Epuck2Sensors } from './sensors.js';

/** -0x09: set all actuators (19 bytes follow). */
export const SERCOM_SET_ACTUATORS = 0xf7;
/** -0x08: all sensors (103 bytes back). */
export const SERCOM_ALL_SENSORS = 0xf8;
/** -'D': set speeds, int16 left, right (no reply). */
export const SERCOM_SET_SPEED = 0xbc;
/** -'Q': step counters, int16 left, right back. */
export const SERCOM_GET_STEPS = 0xaf;
/** -'N': 8 proximity values, 16 bytes back. */
export const SERCOM_GET_PROXIMITY = 0xb2;
export const SERCOM_END = 0x00;
export const SERCOM_EXCHANGE_BYTES = 1 + ACTUATOR_BYTES + 1 + 1;

export function encodeSercomExchange(a: Epuck2Actuators): Buffer {
  const b = Buffer.alloc(SERCOM_EXCHANGE_BYTES);
  b[0] = SERCOM_SET_ACTUATORS;
  writeActuators(a, b, 1);
  b[1 + ACTUATOR_BYTES] = SERCOM_ALL_SENSORS;
  b[2 + ACTUATOR_BYTES] = SERCOM_END;
  return b;
}

export function encodeSercomSensorReply(s: Epuck2Sensors): Buffer {
  return encodeSensorBlock(s, SERCOM_SENSOR_BYTES);
}

/** One binary command of a chain, as the robot reads it. */
export type SercomCommand =
  | { kind: 'set-actuators'; actuators: Required<Epuck2Actuators> }
  | { kind: 'set-speed'; left: number; right: number }
  | { kind: 'all-sensors' }
  | { kind: 'steps' }
  | { kind: 'proximity' };

export type SercomParse =
  /** A complete chain (ended by 0x00) and the bytes it used. */
  | { kind: 'chain'; commands: SercomCommand[]; used: number }
  /** Not complete yet: wait for more bytes. */
  | { kind: 'incomplete' }
  /** A byte the binary mode does not know: skip `used` bytes (up to the next chain end). */
  | { kind: 'error'; detail: string; used: number };

/** The robot's side: parses one binary chain from the front of `buf`. */
export function parseSercomChain(buf: Buffer): SercomParse {
  const commands: SercomCommand[] = [];
  let at = 0;
  const skip = (detail: string): SercomParse => {
    const end = buf.indexOf(SERCOM_END, at);
    return end < 0 ? { kind: 'incomplete' } : { kind: 'error', detail, used: end + 1 };
  };
  while (at < buf.length) {
    const op = buf[at]!;
    if (op === SERCOM_END) return { kind: 'chain', commands, used: at + 1 };
    if (op < 0x80) return skip(`byte 0x${op.toString(16)} at ${at} starts ASCII mode (binary chain expected)`);
    const need = op === SERCOM_SET_ACTUATORS ? ACTUATOR_BYTES : op === SERCOM_SET_SPEED ? 4 : 0;
    if (at + 1 + need > buf.length) return { kind: 'incomplete' };
    if (op === SERCOM_SET_ACTUATORS) commands.push({ kind: 'set-actuators', actuators: readActuators(buf, at + 1) });
    else if (op === SERCOM_SET_SPEED) commands.push({ kind: 'set-speed', left: buf.readInt16LE(at + 1), right: buf.readInt16LE(at + 3) });
    else if (op === SERCOM_ALL_SENSORS) commands.push({ kind: 'all-sensors' });
    else if (op === SERCOM_GET_STEPS) commands.push({ kind: 'steps' });
    else if (op === SERCOM_GET_PROXIMITY) commands.push({ kind: 'proximity' });
    else return skip(`unknown binary command 0x${op.toString(16)} at ${at}`);
    at += 1 + need;
  }
  return { kind: 'incomplete' };
}

export const sercomProtocol: LockStepProtocol = {
  name: 'epuck2-sercom',
  replyBytes: SERCOM_SENSOR_BYTES,
  encodeRequest: encodeSercomExchange,
  checkFirstByte: () => null,
  decodeReply(reply: Buffer): DecodedReply {
    if (reply.length < SERCOM_SENSOR_BYTES) return { ok: false, reason: 'short', detail: `${reply.length} of ${SERCOM_SENSOR_BYTES} bytes` };
    if (reply.length > SERCOM_SENSOR_BYTES) return { ok: false, reason: 'long', detail: `${reply.length} bytes (expected ${SERCOM_SENSOR_BYTES})` };
    return { ok: true, sensors: decodeSensorBlock(reply, 0, SERCOM_SENSOR_BYTES) };
  },
};
