// Who may watch and who may act. Viewing is open when the dashboard listens on loopback only; controls (and
// viewing on any other address) need the operator's token. Tokens are compared in constant time, an address
// that keeps sending wrong tokens is locked out for a while, and every HTTP request and WebSocket upgrade
// must name this server in its Host header (against DNS rebinding) and come from this server's own page or
// from no browser page at all (Origin header: against cross-site WebSocket hijacking).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time in the token's content and length (both sides are hashed to 32 bytes first). */
export function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}

export interface LockoutSettings {
  /** Wrong tokens from one address within `windowMs` before it is locked out... */
  maxFailures: number;
  windowMs: number;
  /** ...for this long, ms. */
  lockMs: number;
}

export const DEFAULT_LOCKOUT: LockoutSettings = { maxFailures: 5, windowMs: 60_000, lockMs: 60_000 };

/** Wrong-token counts per remote address; bounded (old entries are forgotten). */
export class Lockout {
  private readonly failures = new Map<string, { times: number[]; lockedUntil: number }>();

  constructor(
    private readonly settings: LockoutSettings = DEFAULT_LOCKOUT,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds the address is still locked out for (0: not locked). */
  lockedFor(address: string): number {
    const f = this.failures.get(address);
    const left = f ? f.lockedUntil - this.now() : 0;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** A wrong token from `address`; true when this failure locks it out. */
  fail(address: string): boolean {
    const t = this.now();
    if (this.failures.size > 1000) this.forgetOld(t);
    const f = this.failures.get(address) ?? { times: [], lockedUntil: 0 };
    f.times = [...f.times.filter((x) => t - x < this.settings.windowMs), t];
    this.failures.set(address, f);
    if (f.times.length < this.settings.maxFailures) return false;
    f.lockedUntil = t + this.settings.lockMs;
    f.times = [];
    return true;
  }

  private forgetOld(t: number): void {
    for (const [a, f] of this.failures) if (f.lockedUntil < t && f.times.every((x) => t - x >= this.settings.windowMs)) this.failures.delete(a);
  }
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

const isWildcard = (host: string) => host === '0.0.0.0' || host === '::';

/**
 * The Host header values this server answers to: on loopback, the loopback names at its port; on a
 * named address, that address too. On a wildcard address any Host is accepted (null): every request then
 * needs the token, so a rebound name gains nothing.
 */
export function allowedHosts(bindHost: string, port: number): Set<string> | null {
  if (isWildcard(bindHost)) return null;
  const named = isIP(bindHost) === 6 ? `[${bindHost}]` : bindHost;
  return new Set([...LOOPBACK_NAMES, named].map((h) => `${h}:${port}`.toLowerCase()));
}

/** Why a request's Host or Origin is refused (null: accepted). No Origin: not from a browser page. */
export function refuseRequest(headers: { host?: string; origin?: string }, hosts: Set<string> | null): string | null {
  const host = headers.host?.toLowerCase();
  if (!host) return 'no Host header';
  if (hosts && !hosts.has(host)) return `Host '${host}' is not this dashboard`;
  if (headers.origin !== undefined && headers.origin.toLowerCase() !== `http://${host}`) return `Origin '${headers.origin}' is not this dashboard`;
  return null;
}
