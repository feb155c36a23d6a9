/**
 * Bidi controls: embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the marks
 * (U+200E, U+200F, U+061C). In text a tenant or the model wrote they can make a name display
 * reversed ("txt.exe" shown as "exe.txt"), so they are shown as their code points instead.
 */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;

/** `text` with every bidi control replaced by a visible `<U+XXXX>`. */
export function showBidiControls(text: string): string {
  return text.replace(
    BIDI_CONTROLS,
    (c) => `<U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`,
  );
}

/**
 * Text from a user or the model, shown as written: bidi controls made visible, and the whole
 * isolated (<bdi>) so right-to-left text cannot reorder what stands around it.
 */
export function UserText({ text }: { text: string }) {
  return <bdi>{showBidiControls(text)}</bdi>;
}
