// Network address helpers shared by every server the runtime opens (the dashboard, the embedded MQTT broker).
import { isIP } from 'node:net';

/**
 * Whether a listen address reaches only this machine: `localhost`, `::1` or an IPv4 127.x.x.x address.
 * Only real IP literals count (a host name such as `127.example.com` is not loopback).
 */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}
