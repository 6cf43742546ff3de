// The e-puck2 sensor block (docs/epuck2.md): 104 bytes little-endian on Wi-Fi; the Bluetooth sercom reply is
// the same layout less the button (103 bytes). One decoder and one encoder for both links and their twins.

export const WIFI_SENSOR_BYTES = 104;
export const SERCOM_SENSOR_BYTES = 103;
export const PROXIMITY_SENSORS = 8;

/** The sensor readings the runtime uses (the rest of the block is decoded for completeness). */
export interface Epuck2Sensors {
  /** Accelerometer, raw int16 x3. */
  acc: [number, number, number];
  /** Gyroscope, raw int16 x3. */
  gyro: [number, number, number];
  /** IR proximity ps0..ps7, raw u16 (higher = closer). */
  proximity: number[];
  /** IR ambient light ps0..ps7, raw u16. */
  ambient: number[];
  /** Time-of-flight distance, mm. */
  tofMm: number;
  /** Motor step counters, int16 (they wrap: unwrap them). */
  leftSteps: number;
  rightSteps: number;
  /** Battery, raw ADC u16. */
  batteryRaw: number;
  /** Selector position 0-15. */
  selector: number;
  /** Ground proximity x3, raw u16. */
  ground: [number, number, number];
  /** Button state (Wi-Fi only; the sercom block has no button). */
  button: number | null;
}

/** Offsets in the block. */
const ACC = 0;
const GYRO = 18;
const PROX = 37;
const AMBIENT = 53;
const TOF = 69;
const STEPS = 79;
const BATTERY = 83;
const SELECTOR = 89;
const GROUND = 90;
const BUTTON = 102;

/** Decodes a sensor block of `length` bytes (104 Wi-Fi, 103 sercom) starting at `offset`. */
export function decodeSensorBlock(buf: Buffer, offset: number, length: number): Epuck2Sensors {
  if (length !== WIFI_SENSOR_BYTES && length !== SERCOM_SENSOR_BYTES) throw new RangeError(`sensor block of ${length} bytes (expected 104 or 103)`);
  if (buf.length < offset + length) throw new RangeError(`sensor block needs ${length} bytes at ${offset}, buffer has ${buf.length}`);
  const i16 = (at: number) => buf.readInt16LE(offset + at);
  const u16 = (at: number) => buf.readUInt16LE(offset + at);
  const u16s = (at: number, n: number) => Array.from({ length: n }, (_, k) => u16(at + 2 * k));
  return {
    acc: [i16(ACC), i16(ACC + 2), i16(ACC + 4)],
    gyro: [i16(GYRO), i16(GYRO + 2), i16(GYRO + 4)],
    proximity: u16s(PROX, PROXIMITY_SENSORS),
    ambient: u16s(AMBIENT, PROXIMITY_SENSORS),
    tofMm: u16(TOF),
    leftSteps: i16(STEPS),
    rightSteps: i16(STEPS + 2),
    batteryRaw: u16(BATTERY),
    selector: buf[offset + SELECTOR]!,
    ground: [u16(GROUND), u16(GROUND + 2), u16(GROUND + 4)],
    button: length === WIFI_SENSOR_BYTES ? buf[offset + BUTTON]! : null,
  };
}

/** Writes a sensor block of `length` bytes; fields not in Epuck2Sensors (floats, mics, ...) are zero. */
export function encodeSensorBlock(s: Epuck2Sensors, length: number): Buffer {
  if (length !== WIFI_SENSOR_BYTES && length !== SERCOM_SENSOR_BYTES) throw new RangeError(`sensor block of ${length} bytes (expected 104 or 103)`);
  const b = Buffer.alloc(length);
  s.acc.forEach((v, k) => b.writeInt16LE(v, ACC + 2 * k));
  s.gyro.forEach((v, k) => b.writeInt16LE(v, GYRO + 2 * k));
  s.proximity.forEach((v, k) => b.writeUInt16LE(v, PROX + 2 * k));
  s.ambient.forEach((v, k) => b.writeUInt16LE(v, AMBIENT + 2 * k));
  b.writeUInt16LE(s.tofMm, TOF);
  b.writeInt16LE(s.leftSteps, STEPS);
  b.writeInt16LE(s.rightSteps, STEPS + 2);
  b.writeUInt16LE(s.batteryRaw, BATTERY);
  b[SELECTOR] = s.selector;
  s.ground.forEach((v, k) => b.writeUInt16LE(v, GROUND + 2 * k));
  if (length === WIFI_SENSOR_BYTES) b[BUTTON] = s.button ?? 0;
  return b;
}

/** A step counter as the robot reports it: the low 16 bits of a running total, as int16. */
export function toInt16(n: number): number {
  return ((Math.round(n) % 65536) + 65536 + 32768) % 65536 - 32768;
}
