// The e-puck2 Wi-Fi protocol served by the twin: one TCP server per robot on 127.0.0.1, one client at a time
// (a new connection replaces the old one, as on the robot), 21-byte commands in, 0x02 + 104-byte sensor
// replies out (0x03 when nothing is requested).
import { createServer, type Server, type Socket } from 'node:net';
import {
  decodeWifiCommand,
  encodeWifiSensorReply,
  WIFI_COMMAND_BYTES,
  WIFI_COMMAND_START,
  WIFI_HEADER_EMPTY,
  WIFI_HEADER_SENSORS,
} from '../../src/links/epuck2/wifi-codec.js';
import { corruptSteps, type TwinRobots } from './robots.js';

export class WifiTwinServer {
  private readonly servers: (Server | null)[];
  private readonly clients: (Socket | null)[];
  private readonly bound: number[];

  constructor(
    private readonly robots: TwinRobots,
    private readonly host = '127.0.0.1',
  ) {
    this.servers = new Array<Server | null>(robots.count).fill(null);
    this.clients = new Array<Socket | null>(robots.count).fill(null);
    this.bound = new Array<number>(robots.count).fill(0);
  }

  /** Listens for every robot: ports[k] for robot k (0: any free port). Resolves with the ports bound. */
  async listen(ports: readonly number[]): Promise<number[]> {
    if (ports.length !== this.robots.count) throw new RangeError(`${ports.length} ports for ${this.robots.count} robots`);
    for (let k = 0; k < ports.length; k++) await this.listenOne(k, ports[k]!);
    return [...this.bound];
  }

  get ports(): readonly number[] {
    return this.bound;
  }

  /** Robot k's connection is closed (its client sees the stream end and reconnects). */
  dropConnection(k: number): void {
    this.clients[k]?.destroy();
    this.clients[k] = null;
  }

  /** Robot k goes off the network: connection closed, port closed until bringUp(k). */
  async takeDown(k: number): Promise<void> {
    this.dropConnection(k);
    const s = this.servers[k];
    this.servers[k] = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  /** Robot k back on the network, on the port it had. */
  async bringUp(k: number): Promise<void> {
    if (!this.servers[k]) await this.listenOne(k, this.bound[k]!);
  }

  async close(): Promise<void> {
    for (let k = 0; k < this.robots.count; k++) await this.takeDown(k);
  }

  private listenOne(k: number, port: number): Promise<void> {
    const server = createServer((socket) => this.accept(k, socket));
    this.servers[k] = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        const addr = server.address();
        this.bound[k] = typeof addr === 'object' && addr ? addr.port : port;
        resolve();
      });
    });
  }

  private accept(k: number, socket: Socket): void {
    this.clients[k]?.destroy();
    this.clients[k] = socket;
    this.robots.stats[k]!.connections++;
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= WIFI_COMMAND_BYTES) {
        if (buf[0] !== WIFI_COMMAND_START) {
          // Out of step with the client: drop what we have and wait for a fresh command.
          this.robots.stats[k]!.badRequests += buf.length;
          buf = Buffer.alloc(0);
          break;
        }
        const cmd = decodeWifiCommand(buf.subarray(0, WIFI_COMMAND_BYTES));
        buf = buf.subarray(WIFI_COMMAND_BYTES);
        if (this.robots.isSilent(k)) {
          this.robots.stats[k]!.ignored++;
          continue;
        }
        this.robots.setSpeeds(k, cmd.actuators.left, cmd.actuators.right);
        this.robots.stats[k]!.replies++;
        if (!cmd.requestSensors) {
          socket.write(Buffer.from([WIFI_HEADER_EMPTY]));
          continue;
        }
        const s = this.robots.sensors(k);
        socket.write(this.robots.faulty(k, encodeWifiSensorReply(s), () => encodeWifiSensorReply(corruptSteps(s)), WIFI_HEADER_SENSORS));
      }
    });
    socket.on('close', () => {
      if (this.clients[k] === socket) this.clients[k] = null;
    });
  }
}
