// Types of labels.js (the page's own plain JavaScript, served as it is) for the tests that import it.
export interface LabelItem {
  x: number;
  y: number;
  r: number;
  w: number;
  h: number;
}
export interface LabelBox {
  x: number;
  y: number;
  w: number;
  h: number;
  leader: boolean;
  ax: number;
  ay: number;
}
export function layoutLabels(items: readonly (LabelItem | null)[], bounds: { width: number; height: number }, previous?: readonly ({ dx: number; dy: number } | null | undefined)[]): (LabelBox | null)[];
