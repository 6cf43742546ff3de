// Password files in mosquitto's format (`user:$7$<iterations>$<salt>$<hash>`, base64 salt and hash,
// PBKDF2-SHA512, as `mosquitto_passwd` writes them; the older `$6$<salt>$<hash>` SHA-512 of password + salt
// is read too), so one file serves the embedded broker and Debian's mosquitto.
import { pbkdf2Sync, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../core/config-file.js';
import { UserError } from '../../core/user-error.js';

/** mosquitto_passwd's salt length; more iterations than its default 101 (mosquitto reads the count from the entry). */
const SALT_BYTES = 12;
const PBKDF2_ITERATIONS = 1000;
const HASH_BYTES = 64;

type Entry = { kind: 'pbkdf2'; iterations: number; salt: Buffer; hash: Buffer } | { kind: 'sha512'; salt: Buffer; hash: Buffer };

const USER = /^[^:\s]+$/;

function parseEntry(text: string): Entry | null {
  const pb = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(text);
  if (pb) {
    const iterations = Number(pb[1]);
    if (!(iterations >= 1)) return null;
    return { kind: 'pbkdf2', iterations, salt: Buffer.from(pb[2]!, 'base64'), hash: Buffer.from(pb[3]!, 'base64') };
  }
  const sha = /^\$6\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(text);
  if (sha) return { kind: 'sha512', salt: Buffer.from(sha[1]!, 'base64'), hash: Buffer.from(sha[2]!, 'base64') };
  return null;
}

function digest(e: Entry, password: string): Buffer {
  return e.kind === 'pbkdf2' ? pbkdf2Sync(password, e.salt, e.iterations, e.hash.length, 'sha512') : createHash('sha512').update(password).update(e.salt).digest();
}

export class PasswordFile {
  private constructor(private readonly entries: Map<string, Entry>) {}

  /** Reads a password file; throws naming the file and line of an entry it cannot read. */
  static read(path: string): PasswordFile {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`${path}: cannot read the password file: ${(err as Error).message}`);
    }
    return PasswordFile.parse(text, path);
  }

  static parse(text: string, where: string): PasswordFile {
    const entries = new Map<string, Entry>();
    text.split(/\r?\n/).forEach((raw, k) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const colon = line.indexOf(':');
      const user = line.slice(0, colon);
      const entry = colon > 0 ? parseEntry(line.slice(colon + 1)) : null;
      if (!entry || !USER.test(user)) throw new ConfigError(`${where}:${k + 1}: not a mosquitto password entry (user:$7$iterations$salt$hash or user:$6$salt$hash)`);
      entries.set(user, entry);
    });
    return new PasswordFile(entries);
  }

  get users(): string[] {
    return [...this.entries.keys()];
  }

  verify(user: string, password: string): boolean {
    const e = this.entries.get(user);
    if (!e) return false;
    const d = digest(e, password);
    return d.length === e.hash.length && timingSafeEqual(d, e.hash);
  }
}

/** A `$7$` entry for `user` (what mosquitto_passwd writes). */
export function passwordEntry(user: string, password: string, iterations = PBKDF2_ITERATIONS): string {
  if (!USER.test(user)) throw new UserError(`user name '${user}' cannot go in a password file (no ':' or spaces)`);
  if (password.length === 0) throw new UserError('the password is empty');
  const salt = randomBytes(SALT_BYTES);
  const hash = pbkdf2Sync(password, salt, iterations, HASH_BYTES, 'sha512');
  return `${user}:$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** The password file's text with `user`'s entry added or replaced (other lines kept as they were). */
export function withEntry(text: string, user: string, password: string): string {
  const entry = passwordEntry(user, password);
  const lines = text.split(/\r?\n/).filter((l, k, all) => !(k === all.length - 1 && l === ''));
  const at = lines.findIndex((l) => l.trim().startsWith(`${user}:`));
  if (at >= 0) lines[at] = entry;
  else lines.push(entry);
  return `${lines.join('\n')}\n`;
}
