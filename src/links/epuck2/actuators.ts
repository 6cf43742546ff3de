// The e-puck2 actuator block shared by both links (docs/epuck2.md): Wi-Fi command bytes 2..20, which is also
// what the sercom "set all actuators" command (-0x09) carries. 19 bytes: settings, left and right speed
// (int16 LE, steps/s), LED bits, RGB for LED2/4/6/8, sound.

export const ACTUATOR_BYTES = 19;
/** The firmware clamps wheel speeds to this, steps/s. */
export const FIRMWARE_MAX_STEPS_PER_SECOND = 1100;

export interface Epuck2Actuators {
  /** Wheel speeds, steps/s (int16 on the wire). */
  left: number;
  right: number;
  /** Settings bits: bit0 calibrate IR once, bit1 on-board obstacle avoidance, bit2 speeds are step targets. */
  settings?: number;
  /** LED bits: bit0-3 LED1/3/5/7, bit4 body, bit5 front. */
  leds?: number;
  /** RGB (0-100 each) for LED2, LED4, LED6, LED8: 12 values. */
  rgb?: readonly number[];
  sound?: number;
}

function int16(n: number, what: string): number {
  if (!Number.isInteger(n) || n < -32768 || n > 32767) throw new RangeError(`${what} ${n} is not an int16`);
  return n;
}

/** Writes the 19 actuator bytes at `offset`. Speeds must be integer steps/s. */
export function writeActuators(a: Epuck2Actuators, out: Buffer, offset: number): void {
  out[offset] = (a.settings ?? 0) & 0xff;
  out.writeInt16LE(int16(a.left, 'left speed'), offset + 1);
  out.writeInt16LE(int16(a.right, 'right speed'), offset + 3);
  out[offset + 5] = (a.leds ?? 0) & 0xff;
  const rgb = a.rgb ?? [];
  if (rgb.length > 12) throw new RangeError(`${rgb.length} RGB values (4 LEDs x 3 at most)`);
  for (let k = 0; k < 12; k++) out[offset + 6 + k] = Math.max(0, Math.min(100, Math.round(rgb[k] ?? 0)));
  out[offset + 18] = (a.sound ?? 0) & 0xff;
}

export function readActuators(buf: Buffer, offset: number): Required<Epuck2Actuators> {
  return {
    settings: buf[offset]!,
    left: buf.readInt16LE(offset + 1),
    right: buf.readInt16LE(offset + 3),
    leds: buf[offset + 5]!,
    rgb: Array.from(buf.subarray(offset + 6, offset + 18)),
    sound: buf[offset + 18]!,
  };
}
