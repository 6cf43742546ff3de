// Reads an actor written by export-actor.ts back into tfjs parameters, so a shipped policy can play inside
// a synchronous training loop (BATPAL's frozen reference team pi_0). Weights are found by the names the
// exporter gives its initialisers; the log-std is not in the graph (the deployed action is the mean) and
// comes from the policy manifest.
import onnxProto from 'onnx-proto';
import { OWN_DIM, ROW_DIM } from '../../../src/core/observation.js';
import { rowBeliefCount, type ActorParams, type ActorShape } from '../networks.js';
import { tf } from '../tf.js';

const { onnx } = onnxProto;

function floatsOf(t: onnxProto.onnx.ITensorProto): Float32Array {
  if (t.rawData && t.rawData.length > 0) {
    const raw = t.rawData;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }
  return Float32Array.from(t.floatData ?? []);
}

/** The actor in `bytes` (an actor.onnx of shape `shape`) as frozen tfjs parameters; `source` names the file in errors. */
export function actorFromOnnx(bytes: Uint8Array, shape: ActorShape, logStd: readonly number[], source: string): ActorParams {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new Error(`${source}: not an ONNX model (${(err as Error).message})`);
  }
  const byName = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  const h = shape.hidden;
  const weight = (name: string, dims: number[]): tf.Variable => {
    const t = byName.get(name);
    if (!t) throw new Error(`${source}: no weight '${name}' (not an actor written by swarmguard's exporter?)`);
    const got = (t.dims ?? []).map(Number);
    if (got.join('x') !== dims.join('x')) throw new Error(`${source}: weight '${name}' has shape [${got}] but the actor needs [${dims}]`);
    return tf.variable(tf.tensor(floatsOf(t), dims), false);
  };
  const dense = (name: string, inputs: number, outputs: number) => ({ w: weight(`${name}.w`, [inputs, outputs]), b: weight(`${name}.b`, [outputs]) });
  if (logStd.length !== 2) throw new Error(`${source}: action.logStd must hold 2 values`);
  return {
    ownNorm: { gain: weight('own_norm.gain', [OWN_DIM]), bias: weight('own_norm.bias', [OWN_DIM]) },
    rowNorm: { gain: weight('row_norm.gain', [ROW_DIM]), bias: weight('row_norm.bias', [ROW_DIM]) },
    rowEmbed: dense('row_embed', ROW_DIM + rowBeliefCount(shape), h),
    hidden1: dense('hidden1', OWN_DIM + h, h),
    hidden2: dense('hidden2', h, h),
    mean: dense('mean', h, 2),
    logStd: tf.variable(tf.tensor1d(Array.from(logStd)), false),
  };
}
