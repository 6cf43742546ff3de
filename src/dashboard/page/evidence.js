// A flag's evidence as the robots table shows it: the monitor's signals in words, and the consistency
// detector's CUSUM as a bar with its threshold marked. The CUSUM is capped at twice its threshold
// (src/monitor/consistency.ts), so the bar spans 0 to twice the threshold and the mark sits half way.

/**
 * @param {{ consistency: number, cusum: number, belief: number | null, observers: number }} ev
 * @param {number} cusumThreshold
 */
export function evidenceText(ev, cusumThreshold) {
  const belief = ev.belief === null ? '' : `, belief ${ev.belief.toFixed(2)} from ${ev.observers} observers`;
  return `consistency ${ev.consistency.toFixed(2)} (CUSUM ${ev.cusum.toFixed(1)}, threshold ${formatThreshold(cusumThreshold)})${belief}`;
}

/**
 * The CUSUM bar: how full it is, and where the threshold's mark goes (fractions of its length).
 * @param {number} cusum
 * @param {number} threshold
 * @returns {{ fill: number, mark: number }}
 */
export function cusumBar(cusum, threshold) {
  if (!(Number.isFinite(threshold) && threshold > 0)) throw new RangeError(`CUSUM bar: the threshold must be a positive number, got ${threshold}`);
  const full = 2 * threshold;
  return { fill: Math.min(1, Math.max(0, cusum / full)), mark: threshold / full };
}

/** @param {number} t */
function formatThreshold(t) {
  return Number.isInteger(t) ? String(t) : t.toFixed(1);
}
