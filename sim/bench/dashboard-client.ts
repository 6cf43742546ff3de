// A dashboard client for `npm run bench:dashboard`, in its own process as a browser would be:
//   node --import tsx sim/bench/dashboard-client.ts <port> <seconds> <drawMs>
// It acks every frame after "drawing" it for drawMs of busy CPU (0: at once; a slow client blocks its event
// loop as a slow page does), then prints one JSON line: every frame's tick, detail, size and arrival time.
import WebSocket from 'ws';

const [port, seconds, drawMs] = process.argv.slice(2).map(Number) as [number, number, number];
const frames: { tick: number; detail: string; bytes: number; at: number }[] = [];
const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
ws.on('message', (data) => {
  const text = data.toString();
  const m = JSON.parse(text) as { type: string; seq: number; tick: number; detail: string };
  if (m.type !== 'frame') return;
  frames.push({ tick: m.tick, detail: m.detail, bytes: text.length, at: performance.timeOrigin + performance.now() });
  const until = performance.now() + drawMs;
  while (performance.now() < until); // drawing
  ws.send(JSON.stringify({ type: 'ack', seq: m.seq }));
});
ws.on('open', () => process.stdout.write('open\n'));
setTimeout(() => {
  process.stdout.write(`${JSON.stringify(frames)}\n`);
  ws.terminate();
  process.exit(0);
}, seconds * 1000);
