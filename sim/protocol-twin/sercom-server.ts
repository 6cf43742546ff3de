// The advanced sercom v2 protocol served by the twin over pseudo-terminal pairs: for each robot socat links
// two PTYs, the client opens one end (the path the launch file names, as it would name /dev/rfcomm0) and the
// twin the other (<path>.twin). Binary chains in, concatenated replies out.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { encodeSensorBlock, SERCOM_SENSOR_BYTES } from '../../src/links/epuck2/sensors.js';
import { encodeSercomSensorReply, parseSercomChain } from '../../src/links/epuck2/sercom-codec.js';
import { corruptSteps, type TwinRobots } from './robots.js';

interface Pair {
  socat: ChildProcess;
  port: SerialPort;
}

/** Starts `socat` linking two PTYs at `a` and `b`; resolves once both paths exist. */
export function ptyPair(a: string, b: string, timeoutMs = 5000): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`socat did not link ${a} and ${b} within ${timeoutMs} ms: ${err.trim()}`));
    }, timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('starting data transfer loop') && existsSync(a) && existsSync(b)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run socat (apt-get install socat): ${e.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`socat exited (${code}) before linking ${a} and ${b}: ${err.trim()}`));
    });
  });
}

export class SercomTwinServer {
  private readonly pairs: (Pair | null)[];
  private devices: string[] = [];

  constructor(private readonly robots: TwinRobots) {
    this.pairs = new Array<Pair | null>(robots.count).fill(null);
  }

  /** Makes a PTY pair per robot; devices[k] is the end robot k's client opens. */
  async open(devices: readonly string[]): Promise<void> {
    if (devices.length !== this.robots.count) throw new RangeError(`${devices.length} devices for ${this.robots.count} robots`);
    this.devices = [...devices];
    for (let k = 0; k < devices.length; k++) await this.bringUp(k);
  }

  /** Robot k switched off: its PTY pair is gone (the client's device disappears) until bringUp(k). */
  async takeDown(k: number): Promise<void> {
    const p = this.pairs[k];
    this.pairs[k] = null;
    if (!p) return;
    await new Promise<void>((r) => (p.port.isOpen ? p.port.close(() => r()) : r()));
    if (p.socat.exitCode === null) {
      const exited = new Promise<void>((r) => p.socat.once('exit', () => r()));
      p.socat.kill();
      await exited;
    }
  }

  async bringUp(k: number): Promise<void> {
    if (this.pairs[k]) return;
    const device = this.devices[k]!;
    const socat = await ptyPair(device, `${device}.twin`);
    const port = new SerialPort({ path: `${device}.twin`, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    this.pairs[k] = { socat, port };
    this.robots.stats[k]!.connections++;
    this.serve(k, port);
  }

  async close(): Promise<void> {
    for (let k = 0; k < this.robots.count; k++) await this.takeDown(k);
  }

  private serve(k: number, port: SerialPort): void {
    let buf: Buffer = Buffer.alloc(0);
    port.on('error', () => undefined);
    port.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        const parsed = parseSercomChain(buf);
        if (parsed.kind === 'incomplete') break;
        buf = buf.subarray(parsed.used);
        if (parsed.kind === 'error') {
          this.robots.stats[k]!.badRequests += parsed.used;
          continue;
        }
        if (this.robots.isSilent(k)) {
          this.robots.stats[k]!.ignored++;
          continue;
        }
        const out: Buffer[] = [];
        let sensors = false;
        for (const c of parsed.commands) {
          if (c.kind === 'set-actuators') this.robots.setSpeeds(k, c.actuators.left, c.actuators.right);
          else if (c.kind === 'set-speed') this.robots.setSpeeds(k, c.left, c.right);
          else if (c.kind === 'all-sensors') {
            out.push(encodeSercomSensorReply(this.robots.sensors(k)));
            sensors = true;
          } else if (c.kind === 'steps') {
            const s = this.robots.sensors(k);
            const b = Buffer.alloc(4);
            b.writeInt16LE(s.leftSteps, 0);
            b.writeInt16LE(s.rightSteps, 2);
            out.push(b);
          } else if (c.kind === 'proximity') {
            const b = Buffer.alloc(16);
            this.robots.sensors(k).proximity.forEach((v, i) => b.writeUInt16LE(v, 2 * i));
            out.push(b);
          }
        }
        this.robots.stats[k]!.replies++;
        if (out.length === 0) continue;
        const good = Buffer.concat(out);
        port.write(sensors && out.length === 1 ? this.robots.faulty(k, good, () => encodeSensorBlock(corruptSteps(this.robots.sensors(k)), SERCOM_SENSOR_BYTES), null) : good);
      }
    });
  }
}
