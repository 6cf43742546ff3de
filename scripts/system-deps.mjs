#!/usr/bin/env node
// The Debian packages some tests drive for real: mosquitto (an external MQTT broker with auth), socat (a
// pseudo-terminal pair standing in for a Bluetooth serial port) and chromium (the dashboard's browser
// test). `npm test` runs this first: whatever is missing is installed with apt-get when that is possible
// (root, or passwordless sudo); otherwise it says which command to run, and the tests that need a missing
// tool are skipped with that reason in their names. With SWARMGUARD_REQUIRE_SYSTEM_DEPS=1 (CI) a tool that
// is still missing fails the run instead.
import { execFileSync, spawnSync } from 'node:child_process';

const TOOLS = [
  { bin: ['mosquitto', '/usr/sbin/mosquitto'], pkg: 'mosquitto', for: 'the MQTT tests against an external broker' },
  { bin: ['mosquitto_passwd'], pkg: 'mosquitto', for: 'the MQTT auth tests' },
  { bin: ['socat'], pkg: 'socat', for: 'the Bluetooth serial link tests (PTY pair)' },
  { bin: ['chromium', 'chromium-browser'], pkg: 'chromium', for: 'the dashboard browser test' },
];

const found = (names) => names.some((n) => spawnSync('sh', ['-c', `command -v ${n}`], { stdio: 'ignore' }).status === 0 || (n.startsWith('/') && spawnSync('test', ['-x', n]).status === 0));
const missing = () => TOOLS.filter((t) => !found(t.bin));

let todo = missing();
if (todo.length > 0) {
  const pkgs = [...new Set(todo.map((t) => t.pkg))];
  const isRoot = process.getuid?.() === 0;
  const sudo = !isRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (hasApt && (isRoot || sudo)) {
    console.error(`system-deps: installing ${pkgs.join(', ')} with apt-get (needed by ${todo.map((t) => t.for).join('; ')})`);
    const run = (args) => execFileSync(isRoot ? args[0] : 'sudo', isRoot ? args.slice(1) : ['-n', ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    run(['apt-get', 'update', '-qq']);
    run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...pkgs]);
    todo = missing();
  }
  if (todo.length > 0) {
    const msg = `system-deps: missing ${todo.map((t) => `${t.bin[0]} (${t.for})`).join(', ')}; install with: sudo apt-get install ${[...new Set(todo.map((t) => t.pkg))].join(' ')}`;
    if (process.env.SWARMGUARD_REQUIRE_SYSTEM_DEPS === '1') {
      console.error(msg);
      process.exit(1);
    }
    console.error(`${msg}\nsystem-deps: the tests that need them are skipped (their names say so)`);
  }
}
