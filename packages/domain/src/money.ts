// Money is integer euro cents, never floating point.

export type Cents = number;

export const isCents = (n: unknown): n is Cents => typeof n === 'number' && Number.isSafeInteger(n);
