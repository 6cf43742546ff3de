// The dashboard page's files (page/): read once at start-up and served as they are, with a strict
// Content-Security-Policy. Only these paths exist: nothing is looked up on disk per request.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

const PAGE_DIR = new URL('./page/', import.meta.url);
// A Map, not an object literal: a path such as `constructor` must not find an inherited member.
const FILES = new Map<string, { file: string; type: string }>([
  ['/', { file: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/dashboard.js', { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' }],
  ['/arena.js', { file: 'arena.js', type: 'text/javascript; charset=utf-8' }],
  ['/labels.js', { file: 'labels.js', type: 'text/javascript; charset=utf-8' }],
  ['/scale-bar.js', { file: 'scale-bar.js', type: 'text/javascript; charset=utf-8' }],
  ['/evidence.js', { file: 'evidence.js', type: 'text/javascript; charset=utf-8' }],
  ['/dashboard.css', { file: 'dashboard.css', type: 'text/css; charset=utf-8' }],
]);
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * The request target's path, without its query. Not `new URL(target, base)`: that throws on targets such as
 * `//` or `/\\`, and a throw in a request or upgrade handler would end the whole run.
 */
export function pathOf(target: string | undefined): string {
  const t = target ?? '/';
  const q = t.indexOf('?');
  return q < 0 ? t : t.slice(0, q);
}

export class Pages {
  private readonly bodies = new Map<string, Buffer>();

  constructor() {
    for (const [path, { file }] of FILES) this.bodies.set(path, readFileSync(new URL(file, PAGE_DIR)));
  }

  /** Answers a request whose Host has been checked: GET or HEAD of one of the files, or an error status. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('only GET\n');
      return;
    }
    const path = pathOf(req.url);
    if (path === '/favicon.ico') {
      res.writeHead(204, SECURITY_HEADERS).end(); // asked for by every browser: none, rather than a 404 in its console
      return;
    }
    const page = FILES.get(path);
    if (!page) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': page.type, ...SECURITY_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : this.bodies.get(path));
  }
}
