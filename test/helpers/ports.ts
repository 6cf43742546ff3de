import { createServer } from 'node:net';

/** Local ports nothing listens on (each bound once by the OS, then released), instead of random guesses that may be taken. */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let k = 0; k < n; k++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push((server.address() as { port: number }).port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return ports;
}
