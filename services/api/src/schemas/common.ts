// Building blocks for request and response schemas. Strings are bounded and may not carry NUL (Postgres
// cannot store it in JSON), so such input is a 400 here instead of a failure later.

import { Type, type TString } from '@sinclair/typebox';

export const Text = (maxLength: number, description?: string): TString =>
  Type.String({ minLength: 1, maxLength, pattern: '^[^\\u0000]*$', ...(description ? { description } : {}) });

export const Uuid = (description?: string) =>
  Type.String({ format: 'uuid', ...(description ? { description } : {}) });

export const Ref = (description?: string) =>
  Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$', ...(description ? { description } : {}) });

export const LocalDate = (description?: string) =>
  Type.String({ format: 'date', ...(description ? { description } : {}) });

export const Cents = (description?: string) =>
  Type.Integer({ minimum: 1, maximum: 100_000_000, description: description ?? 'amount in euro cents' });

/** One of a fixed list of codes (an OpenAPI enum), typed as the domain's own union. */
export const Literals = <T extends readonly string[]>(values: T, description?: string) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
