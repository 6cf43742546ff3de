// Authorisation from an ACL file in mosquitto's `acl_file` format, so one file serves the embedded broker
// and mosquitto:
//   topic [read|write|readwrite|deny] <topic>   before any `user` line: anonymous clients; after: that user
//   user <name>                                  starts a user's rules
//   pattern [read|write|readwrite|deny] <topic>  every client, %u = its user name, %c = its client id
// Access defaults to readwrite; a matching deny wins; no matching rule denies. A subscription is allowed only
// if an ACL topic covers the whole filter (a `+` rule does not grant `#`).
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../core/config-file.js';
import { filterCovers } from './topics.js';

type Access = 'read' | 'write' | 'readwrite' | 'deny';
interface Rule {
  access: Access;
  topic: string;
}

const ACCESS = new Set<Access>(['read', 'write', 'readwrite', 'deny']);

export class AclFile {
  private constructor(
    private readonly anonymous: Rule[],
    private readonly users: Map<string, Rule[]>,
    private readonly patterns: Rule[],
  ) {}

  static read(path: string): AclFile {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`${path}: cannot read the ACL file: ${(err as Error).message}`);
    }
    return AclFile.parse(text, path);
  }

  static parse(text: string, where: string): AclFile {
    const anonymous: Rule[] = [];
    const users = new Map<string, Rule[]>();
    const patterns: Rule[] = [];
    let current = anonymous;
    text.split(/\r?\n/).forEach((raw, k) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const m = /^(\S+)\s+(.*)$/.exec(line);
      const bad = (why: string) => new ConfigError(`${where}:${k + 1}: ${why}`);
      if (!m) throw bad(`'${line}': expected 'user <name>', 'topic [read|write|readwrite|deny] <topic>' or 'pattern ...'`);
      const [, keyword, rest] = m as unknown as [string, string, string];
      if (keyword === 'user') {
        const name = rest.trim();
        current = users.get(name) ?? [];
        users.set(name, current);
        return;
      }
      if (keyword !== 'topic' && keyword !== 'pattern') throw bad(`unknown keyword '${keyword}' (user, topic or pattern)`);
      const a = /^(\S+)\s+(.+)$/.exec(rest);
      let rule: Rule;
      if (a && ACCESS.has(a[1] as Access)) rule = { access: a[1] as Access, topic: a[2]!.trim() };
      else if (/^\S+$/.test(rest)) rule = { access: 'readwrite', topic: rest };
      else throw bad(`'${rest}': access must be read, write, readwrite or deny`);
      (keyword === 'pattern' ? patterns : current).push(rule);
    });
    return new AclFile(anonymous, users, patterns);
  }

  private rules(user: string | undefined, clientId: string): Rule[] {
    const own = user === undefined ? this.anonymous : (this.users.get(user) ?? []);
    // mosquitto refuses to substitute names that would act as wildcards in a pattern.
    const safe = (s: string | undefined) => s !== undefined && !/[+#/]/.test(s);
    const pats = this.patterns
      .filter((p) => (!p.topic.includes('%u') || safe(user)) && (!p.topic.includes('%c') || safe(clientId)))
      .map((p) => ({ access: p.access, topic: p.topic.replaceAll('%u', user ?? '').replaceAll('%c', clientId) }));
    return [...own, ...pats];
  }

  private allowed(user: string | undefined, clientId: string, topic: string, want: 'read' | 'write'): boolean {
    const matching = this.rules(user, clientId).filter((r) => filterCovers(r.topic, topic));
    if (matching.some((r) => r.access === 'deny')) return false;
    return matching.some((r) => r.access === 'readwrite' || r.access === want);
  }

  canPublish(user: string | undefined, clientId: string, topic: string): boolean {
    return this.allowed(user, clientId, topic, 'write');
  }

  /** A subscription filter: some read rule must cover all of it. */
  canSubscribe(user: string | undefined, clientId: string, filter: string): boolean {
    return this.allowed(user, clientId, filter, 'read');
  }

  /** One message about to be delivered (deny rules inside a granted subscription). */
  canRead(user: string | undefined, clientId: string, topic: string): boolean {
    return this.allowed(user, clientId, topic, 'read');
  }
}
