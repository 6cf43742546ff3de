// Logins made up for one run: the embedded broker started without a password file accepts only these (a
// random password per user, held in memory by the process that started it and given only to its own
// clients, or to the processes it spawns through their environment).
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Checks a user name and password (a mosquitto password file, or RunLogins). */
export interface LoginCheck {
  verify(user: string, password: string): boolean;
}

export class RunLogins implements LoginCheck {
  private readonly passwords: Map<string, string>;

  /** A random password for each user; `password` (e.g. one the operator set) for every user instead, if given. */
  constructor(users: readonly string[], password?: string) {
    this.passwords = new Map(users.map((u) => [u, password ?? randomPassword()]));
  }

  get users(): string[] {
    return [...this.passwords.keys()];
  }

  /** `user`'s login; throws naming the user if it is not one of this run's. */
  login(user: string): { username: string; password: string } {
    const password = this.passwords.get(user);
    if (password === undefined) throw new RangeError(`no login '${user}' was generated for this run (users: ${this.users.join(', ')})`);
    return { username: user, password };
  }

  verify(user: string, password: string): boolean {
    const want = this.passwords.get(user);
    if (want === undefined) return false;
    const a = Buffer.from(password);
    const b = Buffer.from(want);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/** 144 random bits, URL-safe text. */
export function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}
