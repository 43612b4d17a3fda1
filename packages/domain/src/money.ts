// Money is integer euro cents, never floating point.

export type Cents = number;

export const isCents = (n: unknown): n is Cents => typeof n === 'number' && Number.isSafeInteger(n);

/** "12.34 EUR" for logs and CSV; the API always speaks cents. */
export function formatCents(c: Cents): string {
  const sign = c < 0 ? '-' : '';
  const abs = Math.abs(c);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')} EUR`;
}
