// Writes the belief GRU (belief.ts) as an ONNX graph with explicit recurrent state:
// inputs `pair_features` [batch, 9] and `h_in` [batch, H]; outputs `belief` [batch, 1] and `h_out` [batch, H].
import { PAIR_DIM } from '../../../src/core/observation.js';
import type { BeliefParams, BeliefShape } from '../belief.js';
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
  const xg = g.node('Add', [g.node('MatMul', [xn, g.floats('input.w', values(p.input.w), [PAIR_DIM, 3 * H])], g.temp('xw')), g.floats('input.b', values(p.input.b), [3 * H])], g.temp('xg'));
  const hzr = g.node('MatMul', [h, g.floats('recurrent_zr', values(p.recurrentZR), [H, 2 * H])], g.temp('hzr'));
  const part = (t: string, from: number, name: string) =>
    g.node('Slice', [t, g.ints(`${name}.s`, [from]), g.ints(`${name}.e`, [from + H]), g.ints(`${name}.a`, [1])], g.temp(name));
  const z = g.node('Sigmoid', [g.node('Add', [part(xg, 0, 'xz'), part(hzr, 0, 'hz')], g.temp('zpre'))], g.temp('z'));
  const r = g.node('Sigmoid', [g.node('Add', [part(xg, H, 'xr'), part(hzr, H, 'hr')], g.temp('rpre'))], g.temp('r'));
  const rh = g.node('MatMul', [g.node('Mul', [r, h], g.temp('rh')), g.floats('recurrent_c', values(p.recurrentC), [H, H])], g.temp('rhu'));
  const c = g.node('Tanh', [g.node('Add', [part(xg, 2 * H, 'xc'), rh], g.temp('cpre'))], g.temp('c'));
  const oneMinusZ = g.node('Sub', [g.floats('one', [1], [1]), z], g.temp('omz'));
  const next = g.node('Add', [g.node('Mul', [oneMinusZ, c], g.temp('a')), g.node('Mul', [z, h], g.temp('b'))], 'h_out');
  const logit = g.node('Add', [g.node('MatMul', [next, g.floats('head.w', values(p.head.w), [H, 1])], g.temp('hw')), g.floats('head.b', values(p.head.b), [1])], g.temp('logit'));
  g.node('Sigmoid', [logit], 'belief');
  g.output('belief', ['batch', 1]);
  g.output('h_out', ['batch', H]);
  return g.toBytes('swarmguard', doc);
}
