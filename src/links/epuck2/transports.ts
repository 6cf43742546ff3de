// The byte streams the lock-step channel runs over: a TCP connection to the robot's Wi-Fi server, or a
// serial port (the Bluetooth SPP device, a USB cable, or the twin's pseudo-terminal).
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';
import type { Connector } from './channel.js';

export function tcpConnector(host: string, port: number, connectTimeoutMs: number): Connector {
  return {
    describe: `${host}:${port}`,
    open: () =>
      new Promise<Duplex>((resolve, reject) => {
        const socket = connect({ host, port });
        // Lock-step exchanges are small: send each at once rather than waiting to coalesce (Nagle).
        socket.setNoDelay(true);
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`no connection to ${host}:${port} within ${connectTimeoutMs} ms`));
        }, connectTimeoutMs);
        socket.once('connect', () => {
          clearTimeout(timer);
          socket.removeAllListeners('error');
          resolve(socket);
        });
        socket.once('error', (err) => {
          clearTimeout(timer);
          socket.destroy();
          reject(err);
        });
      }),
  };
}

export function serialConnector(path: string, baudRate: number): Connector {
  return {
    describe: path,
    open: () =>
      new Promise<Duplex>((resolve, reject) => {
        const port = new SerialPort({ path, baudRate, autoOpen: false });
        port.open((err) => (err ? reject(new Error(`cannot open ${path}: ${err.message}`)) : resolve(port)));
      }),
    // destroy() would leave the device locked: close it.
    close: (stream) =>
      new Promise<void>((resolve) => {
        const port = stream as SerialPort;
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  };
}
