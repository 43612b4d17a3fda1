// Every refusal of the domain is a typed error with a reason a person can read. The API maps `kind` to
// an HTTP status: 'conflict' (wrong state, 409), 'rule' (a rule broken, 422), 'forbidden' (wrong role, 403).

export type DomainErrorKind = 'conflict' | 'rule' | 'forbidden';

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    /** Stable machine code, e.g. 'plan.wrong_status'. */
    readonly code: string,
    readonly kind: DomainErrorKind,
    message: string,
    /** The command field the refusal is about, when there is one (e.g. 'data.amountCents'). */
    readonly field?: string,
  ) {
    super(message);
  }
}

export const isDomainError = (e: unknown): e is DomainError =>
  e instanceof DomainError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'DomainError');
