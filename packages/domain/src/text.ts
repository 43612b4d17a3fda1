// What free text may hold. A plan's text is shown to people and stored as JSON: a lone UTF-16 surrogate
// cannot be stored (Postgres refuses it in JSON), control characters hide or break lines, and bidi controls
// make text read differently from what it holds (a reversed name, a spoofed reference).

/** Why a string is not acceptable text, or null when it is. */
export type TextFault = 'lone_surrogate' | 'control_character' | 'bidi_control';

const BIDI_CONTROLS = new Set([0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);

/**
 * The first fault of `s` as text: a lone surrogate, a C0 or C1 control character (tab, newline and carriage
 * return are allowed in multi-line text only) or a bidi control.
 */
export function textFault(s: string, multiline: boolean): TextFault | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return 'lone_surrogate';
    }
    if (c >= 0xdc00 && c <= 0xdfff) return 'lone_surrogate';
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      if (multiline && (c === 0x09 || c === 0x0a || c === 0x0d)) continue;
      return 'control_character';
    }
    if (BIDI_CONTROLS.has(c)) return 'bidi_control';
  }
  return null;
}

export const TEXT_FAULT_MESSAGES: { readonly [F in TextFault]: string } = {
  lone_surrogate: 'holds a lone UTF-16 surrogate (not a character)',
  control_character: 'holds a control character',
  bidi_control: 'holds a bidirectional control character',
};
