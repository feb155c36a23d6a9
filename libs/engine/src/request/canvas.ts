/** How a still-masked position shows in an intermediate canvas (the "diffusing" view). */
export const MASK_PLACEHOLDER = '▒';

/** The text before the first masked position: committed tokens, so it can no longer change. */
export function settledText(canvas: string): string {
  const masked = canvas.indexOf(MASK_PLACEHOLDER);
  return masked < 0 ? canvas : canvas.slice(0, masked);
}
