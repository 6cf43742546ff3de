// The trainers' optimiser step: global-norm gradient clipping, then Adam, with Adam's arithmetic on all of
// a network's weights at once. tf.AdamOptimizer.applyGradients runs about 14 kernels per variable (a
// critic or actor has 8 to 13); FlatAdamOptimizer concatenates the gradients, moments and weights into
// flat vectors, so the same 14 run once, plus a concat and a split for each. Adam is elementwise,
// so every weight and moment gets the very same float32 operations as in applyGradients (same constants,
// same order): the result is identical to the bit. The optimiser's own state (its moment variables, their
// names, accBeta1/2, the iteration count) is kept as applyGradients keeps it, so checkpoints are unchanged.
import { tf } from './tf.js';

/** Global-norm gradient clipping (tfjs has no built-in). */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { name: string; tensor: tf.Tensor }[] {
  const scale = clipScale(grads, maxNorm);
  return Object.entries(grads).map(([name, g]) => ({ name, tensor: tf.mul(g, scale) }));
}

/** min(1, maxNorm / (|grads| + 1e-6)), the norm over every gradient in the map's order. */
function clipScale(grads: tf.NamedTensorMap, maxNorm: number): tf.Tensor {
  const norms = Object.values(grads).map((g) => tf.sum(tf.square(g)));
  const total = tf.sqrt(tf.addN(norms));
  return tf.minimum(1, tf.div(maxNorm, tf.add(total, 1e-6)));
}

/** The fields of tf.AdamOptimizer that its applyGradients reads and writes (private in its typings). */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

/** tf.AdamOptimizer whose applyGradients runs its arithmetic once on flat vectors, bit for bit the same. */
export class FlatAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void {
    const list = Array.isArray(variableGradients) ? variableGradients : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const adam = this as unknown as AdamState;
    const names = list.map((g) => g.name);
    const registered = tf.engine().registeredVariables;
    const values = names.map((name) => registered[name]!);
    tf.tidy(() => {
      // Created as tf.AdamOptimizer creates them (first and second moment of each variable in turn), so the
      // variable ids, and with them the order of every later network's gradient map, stay the same.
      values.forEach((value, i) => {
        adam.accumulatedFirstMoment[i] ??= { originalName: `${names[i]}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        adam.accumulatedSecondMoment[i] ??= { originalName: `${names[i]}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      });
      const flat = (ts: tf.Tensor[]) => (ts.length === 1 ? ts[0]!.reshape([-1]) : tf.concat(ts.map((t) => t.reshape([-1]))));
      const gradient = flat(list.map((g) => g.tensor));
      const m = flat(values.map((_, i) => adam.accumulatedFirstMoment[i]!.variable));
      const v = flat(values.map((_, i) => adam.accumulatedSecondMoment[i]!.variable));
      const oneMinusAccBeta1 = tf.sub(1, adam.accBeta1);
      const oneMinusAccBeta2 = tf.sub(1, adam.accBeta2);
      const newM = tf.add(tf.mul(m, adam.beta1), tf.mul(gradient, 1 - adam.beta1));
      const newV = tf.add(tf.mul(v, adam.beta2), tf.mul(tf.square(gradient), 1 - adam.beta2));
      const correctedM = tf.div(newM, oneMinusAccBeta1);
      const correctedV = tf.div(newV, oneMinusAccBeta2);
      const step = tf.mul(tf.div(correctedM, tf.add(tf.sqrt(correctedV), adam.epsilon)), -adam.learningRate);
      const newValue = tf.add(step, flat(values));
      const sizes = values.map((x) => x.size);
      const unflat = (t: tf.Tensor) => (values.length === 1 ? [t] : tf.split(t, sizes)).map((part, i) => part.reshape(values[i]!.shape));
      const [ms, vs, ws] = [unflat(newM), unflat(newV), unflat(newValue)];
      values.forEach((value, i) => {
        adam.accumulatedFirstMoment[i]!.variable.assign(ms[i]!);
        adam.accumulatedSecondMoment[i]!.variable.assign(vs[i]!);
        value.assign(ws[i]!);
      });
      adam.accBeta1.assign(tf.mul(adam.accBeta1, adam.beta1));
      adam.accBeta2.assign(tf.mul(adam.accBeta2, adam.beta2));
    });
    this.incrementIterations();
  }
}

/** The trainers' Adam: tf.train.adam(learningRate, 0.9, 0.999, epsilon), with the flat applyGradients. */
export function adam(learningRate: number, epsilon: number): FlatAdamOptimizer {
  return new FlatAdamOptimizer(learningRate, 0.9, 0.999, epsilon);
}

/** optimizer.applyGradients(clipByGlobalNorm(grads, maxNorm)) in a scope of its own. */
export function clippedAdamStep(optimizer: tf.Optimizer, grads: tf.NamedTensorMap, maxNorm: number): void {
  tf.tidy(() => optimizer.applyGradients(clipByGlobalNorm(grads, maxNorm)));
}
