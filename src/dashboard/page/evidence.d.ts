// Types of evidence.js (the page's own plain JavaScript, served as it is) for the tests that import it.
import type { Evidence } from '../../monitor/monitor.js';
export function evidenceText(ev: Evidence, cusumThreshold: number): string;
export function cusumBar(cusum: number, threshold: number): { fill: number; mark: number };
