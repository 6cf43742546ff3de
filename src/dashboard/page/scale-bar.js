// The arena's scale bar: the longest round length (1, 2 or 5 times a power of ten metres) that fits the room
// given, so the bar reads as a plain number of metres at any zoom.

/**
 * @param {number} pxPerMetre  the arena's drawing scale
 * @param {number} maxPx  the longest the bar may be
 * @returns {{ metres: number, px: number, label: string }}
 */
export function scaleBar(pxPerMetre, maxPx) {
  if (!(Number.isFinite(pxPerMetre) && pxPerMetre > 0)) throw new RangeError(`scale bar: pixels per metre must be a positive number, got ${pxPerMetre}`);
  if (!(Number.isFinite(maxPx) && maxPx > 0)) throw new RangeError(`scale bar: the room for it must be a positive number of pixels, got ${maxPx}`);
  const most = maxPx / pxPerMetre;
  // 1 x 10^floor(log10(most)) always fits: the loop ends on the first power but for floating-point rounding.
  for (let power = 10 ** Math.floor(Math.log10(most)); ; power /= 10) {
    for (const step of [5, 2, 1]) {
      // toPrecision: 5 * 0.01 is 0.05000000000000001 in floating point.
      const metres = Number((step * power).toPrecision(1));
      if (metres <= most) return { metres, px: metres * pxPerMetre, label: `${metres} m` };
    }
  }
}
