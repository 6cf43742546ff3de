// TensorFlow.js set-up for training: the wasm backend (SIMD) with the pure-JS cpu backend as fallback.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export { tf };

let ready: Promise<string> | null = null;

/** Initialises the fastest available backend once; resolves to its name ('wasm' or 'cpu'). */
export function initBackend(preferred: 'wasm' | 'cpu' = 'wasm'): Promise<string> {
  ready ??= (async () => {
    if (preferred === 'wasm') {
      const require = createRequire(import.meta.url);
      const pkg = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      setWasmPaths(join(pkg, 'dist') + '/');
      try {
        if (await tf.setBackend('wasm')) {
          await tf.ready();
          return tf.getBackend();
        }
      } catch {
        // fall through to cpu
      }
    }
    await tf.setBackend('cpu');
    await tf.ready();
    return tf.getBackend();
  })();
  return ready;
}
