// The request rules the API takes from the domain, as Ajv formats: text (textFault), calendar dates
// (isPlausibleDate) and semesters (isValidSemester) under the deployment's own DomainConfig. A schema names
// them through the builders in schemas/common.ts, so a refusal is a 400 naming the field.

import { isPlausibleDate, isPlausibleInstant, isValidSemester, TEXT_FAULT_MESSAGES, textFault, type DomainConfig } from '@iap/domain';

export const TEXT_FORMATS = {
  line: 'iap-text',
  multiline: 'iap-multiline-text',
  date: 'iap-date',
  instant: 'iap-date-time',
  semester: 'iap-semester',
  schoolYear: 'iap-school-year',
} as const;

/** What a refusal by each format says, after the field's name. */
export const FORMAT_MESSAGES: Readonly<Record<string, string>> = {
  [TEXT_FORMATS.line]: 'must be one line of text without control characters, bidirectional controls or lone surrogates',
  [TEXT_FORMATS.multiline]: 'must be text without control characters (other than tab and line breaks), bidirectional controls or lone surrogates',
  [TEXT_FORMATS.date]: "must be a calendar date (YYYY-MM-DD) within the programme's years",
  [TEXT_FORMATS.instant]: "must be an instant (RFC 3339, e.g. 2026-10-01T12:00:00Z) within the programme's years",
  [TEXT_FORMATS.semester]: 'must be a semester like "2025/26-1" of the programme\'s school years',
  [TEXT_FORMATS.schoolYear]: 'must be a school year like "2025/26" of the programme',
};

interface AjvLike {
  addFormat(name: string, format: { type: 'string'; validate: (s: string) => boolean }): unknown;
}

/** An Ajv plugin (Fastify's `ajv.plugins`) registering the formats under `config`. */
export const domainFormats = (config: DomainConfig) => <A extends AjvLike>(ajv: A): A => {
  ajv.addFormat(TEXT_FORMATS.line, { type: 'string', validate: (s) => textFault(s, false) === null });
  ajv.addFormat(TEXT_FORMATS.multiline, { type: 'string', validate: (s) => textFault(s, true) === null });
  ajv.addFormat(TEXT_FORMATS.date, { type: 'string', validate: (s) => isPlausibleDate(s, config) });
  ajv.addFormat(TEXT_FORMATS.instant, { type: 'string', validate: (s) => isPlausibleInstant(s, config) });
  ajv.addFormat(TEXT_FORMATS.semester, { type: 'string', validate: (s) => isValidSemester(s, config) });
  ajv.addFormat(TEXT_FORMATS.schoolYear, { type: 'string', validate: (s) => isValidSemester(`${s}-1`, config) });
  return ajv;
};

/**
 * The first string anywhere in `value` (keys included) that is not acceptable text, with its path
 * ("body.risks.0.note"): the guard for strings no schema builder made (headers, records, ids). Line breaks
 * and tabs pass here; single-line fields refuse them through their format.
 */
export function findBadString(value: unknown, path: string, depth = 0): { field: string; message: string } | null {
  if (typeof value === 'string') {
    const fault = textFault(value, true);
    return fault ? { field: path, message: TEXT_FAULT_MESSAGES[fault] } : null;
  }
  if (value === null || typeof value !== 'object' || depth > 32) return null;
  for (const [k, v] of Object.entries(value)) {
    const keyFault = textFault(k, false);
    if (keyFault) return { field: path, message: `has a field name that ${TEXT_FAULT_MESSAGES[keyFault]}` };
    const found = findBadString(v, `${path}.${k}`, depth + 1);
    if (found) return found;
  }
  return null;
}
