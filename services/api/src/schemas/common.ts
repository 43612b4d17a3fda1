// Building blocks for request and response schemas. Strings are bounded; text, dates and semesters carry
// the custom formats that buildApp registers from the domain's rules (see formats.ts), so what the domain
// would refuse is a 400 naming the field here, instead of a failure later.

import { Type, type TString } from '@sinclair/typebox';
import { TEXT_FORMATS } from '../formats.js';

/** One line of text: no control characters (not even a newline), bidi controls or lone surrogates. */
export const Text = (maxLength: number, description?: string): TString =>
  Type.String({ minLength: 1, maxLength, format: TEXT_FORMATS.line, ...(description ? { description } : {}) });

/** Text that may run over several lines (tab, newline, carriage return); otherwise as Text. */
export const LongText = (maxLength: number, description?: string, minLength = 1): TString =>
  Type.String({ minLength, maxLength, format: TEXT_FORMATS.multiline, ...(description ? { description } : {}) });

export const Uuid = (description?: string) =>
  Type.String({ format: 'uuid', ...(description ? { description } : {}) });

export const Ref = (description?: string) =>
  Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$', ...(description ? { description } : {}) });

/** A calendar date within the programme's years (the domain's isPlausibleDate). */
export const LocalDate = (description?: string) =>
  Type.String({ format: TEXT_FORMATS.date, pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', ...(description ? { description } : {}) });

/** An instant (RFC 3339) on a day within the programme's years (the domain's isPlausibleInstant). */
export const Instant = (description?: string) =>
  Type.String({ format: TEXT_FORMATS.instant, ...(description ? { description } : {}) });

/** A semester of the programme's school years (the domain's isValidSemester), e.g. "2025/26-1". */
export const Semester = (description = 'e.g. "2025/26-1"') =>
  Type.String({ format: TEXT_FORMATS.semester, pattern: '^[0-9]{4}/[0-9]{2}-[12]$', description });

/** A school year of the programme, e.g. "2019/20" (its first semester must be valid). */
export const SchoolYear = (description = 'e.g. "2019/20"') =>
  Type.String({ format: TEXT_FORMATS.schoolYear, pattern: '^[0-9]{4}/[0-9]{2}$', description });

export const Cents = (description?: string) =>
  Type.Integer({ minimum: 1, maximum: 100_000_000, description: description ?? 'amount in euro cents' });

/** One of a fixed list of codes (an OpenAPI enum), typed as the domain's own union. */
export const Literals = <T extends readonly string[]>(values: T, description?: string) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
