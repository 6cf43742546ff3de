// The embedded broker (aedes, in-process, nothing to install): a TCP listener, logins checked against a
// mosquitto password file or against the logins generated for this run (in memory), topics against a
// mosquitto ACL file (passwd.ts, acl.ts). It never accepts anonymous clients unless told to in so many words
// (allowAnonymous, which it warns about), and then only on a loopback address: the robots' command topics
// are a control endpoint.
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { AclFile } from './acl.js';
import { brokerUrl } from './config.js';
import type { LoginCheck, RunLogins } from './logins.js';
import { PasswordFile } from './passwd.js';
import { isLoopback } from '../../core/net.js';

export interface EmbeddedBrokerOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  passwordFile?: string;
  aclFile?: string;
  /** Logins generated for this run (user -> password), checked in memory; instead of a password file. */
  logins?: RunLogins;
  /** Accept clients without a login (loopback only; warned about). Without it a password file or logins are required. */
  allowAnonymous?: boolean;
  log: (line: string) => void;
}

export class EmbeddedBroker {
  /** Logins and operations the broker refused, by kind. */
  readonly refused = { login: 0, publish: 0, subscribe: 0 };

  private constructor(
    private readonly aedes: Aedes,
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
  ) {}

  get url(): string {
    return brokerUrl(this.host, this.port);
  }

  static async start(o: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    if (o.passwordFile && o.logins) throw new Error('the embedded broker takes its logins from a password file or from this run\'s generated logins, not both');
    const logins = o.logins ?? null;
    if (!o.passwordFile && !logins && !o.allowAnonymous) {
      throw new Error(`the embedded broker on ${o.host} needs logins (a password file, or this run's generated logins); anonymous clients only with allowAnonymous: true`);
    }
    if (!o.passwordFile && !isLoopback(o.host)) {
      throw new Error(`the embedded broker on ${o.host} needs a password file (only a loopback address may go without one)`);
    }
    if (o.aclFile && !o.passwordFile && !logins) throw new Error('an ACL file without a password file would apply to anonymous clients only: give both');
    const passwords: LoginCheck | null = o.passwordFile ? PasswordFile.read(o.passwordFile) : logins;
    const acl = o.aclFile ? AclFile.read(o.aclFile) : null;
    // aedes does not keep the user name: remembered per client for the ACL's user sections and %u.
    const userOf = new WeakMap<Client, string>();
    let self: EmbeddedBroker | null = null;
    const refuse = (kind: keyof EmbeddedBroker['refused'], line: string) => {
      if (self) self.refused[kind]++;
      o.log(`mqtt broker: ${line}`);
    };
    const aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        if (!passwords) return done(null, true);
        if (username !== undefined && password !== undefined && passwords.verify(username, password.toString('utf8'))) {
          userOf.set(client, username);
          return done(null, true);
        }
        refuse('login', `refused the login of client ${client.id} as ${username === undefined ? 'nobody' : `'${username}'`}`);
        const err = new Error('bad user name or password') as AuthenticateError;
        err.returnCode = 4;
        done(err, null);
      },
      authorizePublish: (client, packet, done) => {
        // client is null for the broker's own messages; $SYS topics are the broker's.
        if (packet.topic.startsWith('$')) return done(new Error('$ topics are the broker\'s'));
        if (!acl || !client) return done(null);
        if (acl.canPublish(userOf.get(client), client.id, packet.topic)) return done(null);
        refuse('publish', `refused a publish by ${userOf.get(client) ?? 'anonymous'} (client ${client.id}) to ${packet.topic} (ACL)`);
        // aedes closes the connection of a client publishing where it may not (mosquitto drops the message).
        done(new Error('not authorised'));
      },
      authorizeSubscribe: (client, sub, done) => {
        if (!acl || acl.canSubscribe(userOf.get(client), client.id, sub.topic)) return done(null, sub);
        refuse('subscribe', `refused a subscription by ${userOf.get(client) ?? 'anonymous'} (client ${client.id}) to ${sub.topic} (ACL)`);
        // A null subscription is answered with return code 128, as mosquitto does; an error would drop the client.
        done(null, null);
      },
      authorizeForward: (client, packet) => (!acl || acl.canRead(userOf.get(client), client.id, packet.topic) ? packet : null),
    });
    // Small messages go out at once (Nagle off), as the clients' do.
    const server = createServer((socket) => {
      socket.setNoDelay(true);
      aedes.handle(socket);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(o.port, o.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((r) => aedes.close(() => r()));
      const busy = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ' (another broker, e.g. a mosquitto service, on that port? give another embedded.port, or use it: broker: mqtt://...)' : '';
      throw new Error(`the embedded MQTT broker cannot listen on ${o.host}:${o.port}: ${(err as Error).message}${busy}`);
    }
    self = new EmbeddedBroker(aedes, server, o.host, (server.address() as AddressInfo).port);
    if (!passwords) o.log(`mqtt broker: WARNING: ${self.url} accepts anonymous clients (allowAnonymous: true): any process on this machine can command the robots`);
    return self;
  }

  async close(): Promise<void> {
    // Clients are disconnected by aedes.close; the server then has no connection left to wait for.
    await new Promise<void>((r) => this.aedes.close(() => r()));
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
