// What the lock-step exchange loop needs to know about a wire protocol: how to write a request carrying the
// wheel command and how to check and read the reply. Implemented by the Wi-Fi and sercom codecs.
import type { Epuck2Actuators } from './actuators.js';
import type { Epuck2Sensors } from './sensors.js';

/** Why a reply was refused (timeouts are counted apart). */
export const REJECT_REASONS = ['short', 'long', 'bad-header', 'implausible-steps', 'stray-bytes'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type DecodedReply = { ok: true; sensors: Epuck2Sensors } | { ok: false; reason: RejectReason; detail: string };

export interface LockStepProtocol {
  /** For messages and statistics. */
  readonly name: string;
  /** Bytes of a complete reply. */
  readonly replyBytes: number;
  /** The request for one exchange: the wheel command (and LEDs) out, the sensors back. */
  encodeRequest(a: Epuck2Actuators): Buffer;
  /** Checks the first byte of a reply as soon as it arrives (a header), or null if the protocol has none. */
  checkFirstByte(byte: number): DecodedReply | null;
  /** Checks and decodes a reply of exactly replyBytes bytes. */
  decodeReply(reply: Buffer): DecodedReply;
}
