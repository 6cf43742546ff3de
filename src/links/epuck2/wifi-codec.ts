// e-puck2 Wi-Fi (TCP) protocol (docs/epuck2.md): a 21-byte command, [0] 0x80, [1] request bits, [2..20] the
// actuator block; the reply is a header byte (0x01 image, 0x02 sensors, 0x03 empty) then the payload. The
// client asks for sensors only, so a good reply is 0x02 + 104 bytes. Pure functions, used by the client and
// by the protocol twin that serves it.
import { ACTUATOR_BYTES, readActuators, writeActuators, type Epuck2Actuators } from './actuators.js';
import type { DecodedReply, LockStepProtocol } from './protocol.js';
import { decodeSensorBlock, encodeSensorBlock, WIFI_SENSOR_BYTES, type Epuck2Sensors } from './sensors.js';

export const WIFI_COMMAND_BYTES = 21;
export const WIFI_COMMAND_START = 0x80;
export const WIFI_REQUEST_IMAGE = 0x01;
export const WIFI_REQUEST_SENSORS = 0x02;
export const WIFI_HEADER_IMAGE = 0x01;
export const WIFI_HEADER_SENSORS = 0x02;
export const WIFI_HEADER_EMPTY = 0x03;
export const WIFI_SENSOR_REPLY_BYTES = 1 + WIFI_SENSOR_BYTES;
/** The robot's TCP port in Wi-Fi mode. */
export const WIFI_DEFAULT_PORT = 1000;

export function encodeWifiCommand(a: Epuck2Actuators, request = WIFI_REQUEST_SENSORS): Buffer {
  const b = Buffer.alloc(WIFI_COMMAND_BYTES);
  b[0] = WIFI_COMMAND_START;
  b[1] = request & 0x03;
  writeActuators(a, b, 2);
  return b;
}

export interface WifiCommand {
  requestImage: boolean;
  requestSensors: boolean;
  actuators: Required<Epuck2Actuators>;
}

/** The robot's side: reads a 21-byte command; throws naming the bad byte. */
export function decodeWifiCommand(b: Buffer): WifiCommand {
  if (b.length !== WIFI_COMMAND_BYTES) throw new RangeError(`Wi-Fi command of ${b.length} bytes (expected ${WIFI_COMMAND_BYTES})`);
  if (b[0] !== WIFI_COMMAND_START) throw new RangeError(`Wi-Fi command starts with 0x${b[0]!.toString(16)} (expected 0x80)`);
  return { requestImage: (b[1]! & WIFI_REQUEST_IMAGE) !== 0, requestSensors: (b[1]! & WIFI_REQUEST_SENSORS) !== 0, actuators: readActuators(b, 2) };
}

/** The robot's side: the sensor reply (header 0x02 + 104 bytes). */
export function encodeWifiSensorReply(s: Epuck2Sensors): Buffer {
  return Buffer.concat([Buffer.from([WIFI_HEADER_SENSORS]), encodeSensorBlock(s, WIFI_SENSOR_BYTES)]);
}

export const wifiProtocol: LockStepProtocol = {
  name: 'epuck2-wifi',
  replyBytes: WIFI_SENSOR_REPLY_BYTES,
  encodeRequest: (a) => encodeWifiCommand(a, WIFI_REQUEST_SENSORS),
  checkFirstByte(byte: number): DecodedReply | null {
    if (byte === WIFI_HEADER_SENSORS) return null;
    return { ok: false, reason: 'bad-header', detail: `reply header 0x${byte.toString(16).padStart(2, '0')} (expected 0x02, sensors)` };
  },
  decodeReply(reply: Buffer): DecodedReply {
    if (reply.length < WIFI_SENSOR_REPLY_BYTES) return { ok: false, reason: 'short', detail: `${reply.length} of ${WIFI_SENSOR_REPLY_BYTES} bytes` };
    if (reply.length > WIFI_SENSOR_REPLY_BYTES) return { ok: false, reason: 'long', detail: `${reply.length} bytes (expected ${WIFI_SENSOR_REPLY_BYTES})` };
    const bad = this.checkFirstByte(reply[0]!);
    if (bad) return bad;
    return { ok: true, sensors: decodeSensorBlock(reply, 1, WIFI_SENSOR_BYTES) };
  },
};

/** For the twin: bytes 2..20 of the command are the actuator block. */
export const WIFI_ACTUATOR_OFFSET = WIFI_COMMAND_BYTES - ACTUATOR_BYTES;
