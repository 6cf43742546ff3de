// Writes an actor (networks.ts) as an ONNX graph: input `obs` [batch, obsSize] (rendezvous-v1), and for
// actors that read beliefs `beliefs` [batch, maxNeighbours * R] (R per neighbour row); output `action`
// [batch, 2], the Gaussian mean (the deterministic deployed action; the runtime clamps).
import { OWN_DIM, ROW_DIM } from '../../../src/core/observation.js';
import { LAYER_NORM_EPSILON, rowBeliefCount, type ActorParams, type ActorShape, type DenseParams, type LayerNormParams } from '../networks.js';
import { GraphBuilder } from './builder.js';

function values(v: { dataSync(): ArrayLike<number> }): Float32Array {
  return Float32Array.from(v.dataSync());
}

function denseNode(g: GraphBuilder, name: string, p: DenseParams, x: string): string {
  const [inputs, outputs] = p.w.shape as [number, number];
  const w = g.floats(`${name}.w`, values(p.w), [inputs, outputs]);
  const b = g.floats(`${name}.b`, values(p.b), [outputs]);
  return g.node('Add', [g.node('MatMul', [x, w], g.temp(`${name}_mm`)), b], g.temp(name));
}

function affineNode(g: GraphBuilder, name: string, p: LayerNormParams, x: string): string {
  const size = p.gain.shape[0];
  const gain = g.floats(`${name}.gain`, values(p.gain), [size]);
  const bias = g.floats(`${name}.bias`, values(p.bias), [size]);
  return g.node('Add', [g.node('Mul', [x, gain], g.temp(`${name}_scaled`)), bias], g.temp(name));
}

function slice(g: GraphBuilder, x: string, from: number, to: number, name: string): string {
  return g.node('Slice', [x, g.ints(`${name}.starts`, [from]), g.ints(`${name}.ends`, [to]), g.ints(`${name}.axes`, [1])], g.temp(name));
}

export function actorToOnnx(p: ActorParams, shape: ActorShape, obsSize: number, doc: string): Uint8Array {
  const K = shape.maxNeighbours;
  const g = new GraphBuilder('swarmguard_actor');
  const obs = g.input('obs', ['batch', obsSize]);
  // LayerNorm over [own | rows] without affine, then the tied per-feature gains and biases.
  const featureCount = OWN_DIM + K * ROW_DIM;
  const features = g.node(
    'LayerNormalization',
    [slice(g, obs, 0, featureCount, 'features'), g.floats('ones', new Float32Array(featureCount).fill(1), [featureCount])],
    g.temp('standardised'),
    { axis: -1, epsilon: LAYER_NORM_EPSILON },
  );
  const own = affineNode(g, 'own_norm', p.ownNorm, slice(g, features, 0, OWN_DIM, 'own'));
  const rowsFlat = slice(g, features, OWN_DIM, featureCount, 'rows');
  let rows = affineNode(g, 'row_norm', p.rowNorm, g.node('Reshape', [rowsFlat, g.ints('rows.shape', [-1, K, ROW_DIM])], g.temp('rows3')));
  if (shape.beliefInputs) {
    const R = rowBeliefCount(shape);
    const beliefs = g.input('beliefs', ['batch', K * R]);
    const column = g.node('Reshape', [beliefs, g.ints('beliefs.shape', [-1, K, R])], g.temp('beliefs3'));
    rows = g.node('Concat', [rows, column], g.temp('rows_b'), { axis: 2 });
  }
  const maskFlat = slice(g, obs, OWN_DIM + K * ROW_DIM, OWN_DIM + K * ROW_DIM + K, 'mask');
  const mask = g.node('Reshape', [maskFlat, g.ints('mask.shape', [-1, K, 1])], g.temp('mask3'));

  const embedded = g.node('Relu', [denseNode(g, 'row_embed', p.rowEmbed, rows)], g.temp('emb'));
  const axis1 = g.ints('axis1', [1]);
  const summed = g.node('ReduceSum', [g.node('Mul', [embedded, mask], g.temp('masked')), axis1], g.temp('sum'), { keepdims: 0 });
  const count = g.node('Max', [g.node('ReduceSum', [mask, axis1], g.temp('count'), { keepdims: 0 }), g.floats('one', [1], [1])], g.temp('count1'));
  const pooled = g.node('Div', [summed, count], g.temp('pooled'));
  const x = g.node('Concat', [own, pooled], g.temp('x'), { axis: 1 });
  const h1 = g.node('Relu', [denseNode(g, 'hidden1', p.hidden1, x)], g.temp('h1'));
  const h2 = g.node('Relu', [denseNode(g, 'hidden2', p.hidden2, h1)], g.temp('h2'));
  const mean = denseNode(g, 'mean', p.mean, h2);
  g.node('Identity', [mean], 'action');
  g.output('action', ['batch', 2]);
  return g.toBytes('swarmguard', doc);
}
