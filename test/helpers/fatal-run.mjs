// `swarmguard <args>` exactly as src/bin/swarmguard.js runs it, plus a fatal error on SIGUSR2: an uncaught
// exception, or with FATAL=rejection an unhandled rejection. The shutdown tests end a run with it.
import { register } from 'tsx/esm/api';

register();
process.on('SIGUSR2', () => {
  if (process.env.FATAL === 'rejection') void Promise.reject(new Error('injected unhandled rejection'));
  else
    setImmediate(() => {
      throw new Error('injected uncaught exception');
    });
});
await import('../../src/cli/main.ts');
