// `swarmguard mqtt-passwd <file> <user>`: adds or replaces a user's entry in a mosquitto-format password file
// (PBKDF2-SHA512, `$7$`), which the embedded broker and Debian's mosquitto both read. The password comes
// from an environment variable (--password-env) or the first line of stdin, never from the command line
// (argv is visible to every user of the machine in `ps`).
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, secretFromEnv } from '../core/config-file.js';
import { PasswordFile, withEntry } from '../links/mqtt/passwd.js';

export interface MqttPasswdOptions {
  passwordEnv?: string;
}

async function firstLineOfStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

/** Writes the entry; returns what was done, for the caller to print. */
export async function mqttPasswd(file: string, user: string, o: MqttPasswdOptions, env: NodeJS.ProcessEnv = process.env, readPassword = firstLineOfStdin): Promise<string> {
  const password = o.passwordEnv ? secretFromEnv(o.passwordEnv, '--password-env', `${user}'s new password`, env) : await readPassword();
  if (password === '') throw new ConfigError('no password on stdin (give it on the first line, or use --password-env NAME)');
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  // A file we cannot read back is not ours to rewrite.
  const existing = before ? PasswordFile.parse(before, file) : null;
  let text: string;
  try {
    text = withEntry(before, user, password);
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`);
  }
  const replaced = existing?.users.includes(user) ?? false;
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
  return `${file}: ${replaced ? 'replaced' : 'added'} ${user}`;
}
