// Types of scale-bar.js (the page's own plain JavaScript, served as it is) for the tests that import it.
export function scaleBar(pxPerMetre: number, maxPx: number): { metres: number; px: number; label: string };
