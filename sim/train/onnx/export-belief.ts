// Writes the belief GRU (belief.ts) as an ONNX graph with explicit recurrent state:
// inputs `pair_features` [batch, 9] and `h_in` [batch, H]; outputs `belief` [batch, R] (P(compromised with
// type k), k = 1..R; R = 1 for a yes/no belief) and `h_out` [batch, H].
import { PAIR_DIM } from '../../../src/core/observation.js';
import { beliefTypeCount, type BeliefParams, type BeliefShape } from '../belief.js';
import { LAYER_NORM_EPSILON } from '../networks.js';
import { GraphBuilder } from './builder.js';

function values(v: { dataSync(): ArrayLike<number> }): Float32Array {
  return Float32Array.from(v.dataSync());
}

export function beliefToOnnx(p: BeliefParams, shape: BeliefShape, doc: string): Uint8Array {
  const H = shape.hidden;
  const g = new GraphBuilder('swarmguard_belief');
  const x = g.input('pair_features', ['batch', PAIR_DIM]);
  const h = g.input('h_in', ['batch', H]);
  const xn = g.node(
    'LayerNormalization',
    [x, g.floats('input_norm.gain', values(p.inputNorm.gain), [PAIR_DIM]), g.floats('input_norm.bias', values(p.inputNorm.bias), [PAIR_DIM])],
    g.temp('xn'),
    { axis: -1, epsilon: LAYER_NORM_EPSILON },
  );
  // Gate pre-activation: xn Wx + bx + state U (each gate's weights kept apart, as in belief.ts).
  const pre = (k: 'z' | 'r' | 'c', state: string) => {
    const gate = p[k];
    const xw = g.node('Add', [g.node('MatMul', [xn, g.floats(`${k}.input.w`, values(gate.input.w), [PAIR_DIM, H])], g.temp(`${k}xw`)), g.floats(`${k}.input.b`, values(gate.input.b), [H])], g.temp(`${k}x`));
    const hu = g.node('MatMul', [state, g.floats(`${k}.recurrent`, values(gate.recurrent), [H, H])], g.temp(`${k}h`));
    return g.node('Add', [xw, hu], g.temp(`${k}pre`));
  };
  const z = g.node('Sigmoid', [pre('z', h)], g.temp('z'));
  const r = g.node('Sigmoid', [pre('r', h)], g.temp('r'));
  const c = g.node('Tanh', [pre('c', g.node('Mul', [r, h], g.temp('rh')))], g.temp('c'));
  const oneMinusZ = g.node('Sub', [g.floats('one', [1], [1]), z], g.temp('omz'));
  const next = g.node('Add', [g.node('Mul', [oneMinusZ, c], g.temp('a')), g.node('Mul', [z, h], g.temp('b'))], 'h_out');
  const R = beliefTypeCount(shape);
  const C = p.head.w.shape[1]!;
  const logit = g.node('Add', [g.node('MatMul', [next, g.floats('head.w', values(p.head.w), [H, C])], g.temp('hw')), g.floats('head.b', values(p.head.b), [C])], g.temp('logit'));
  if (R === 1) g.node('Sigmoid', [logit], 'belief');
  else {
    // Softmax over benign and the R types; the benign column is dropped.
    const probs = g.node('Softmax', [logit], g.temp('probs'), { axis: -1 });
    g.node('Slice', [probs, g.ints('types.starts', [1]), g.ints('types.ends', [R + 1]), g.ints('types.axes', [1])], 'belief');
  }
  g.output('belief', ['batch', R]);
  g.output('h_out', ['batch', H]);
  return g.toBytes('swarmguard', doc);
}
