// Validates a request body with the API's own JSON Schema (from its OpenAPI document) before it is sent,
// so a form marks what the API would refuse while the user types. Interpreted, not compiled: the console's
// Content-Security-Policy allows no eval.
import { Validator, type Schema } from '@cfworker/json-schema';
import schemas from './request-schemas.json';

const validators = new Map<string, Validator>();

/** JSON pointers ("/risks/0/factor") of the values the API would refuse in `body`. */
export function invalidPointers(operation: string, body: unknown): Set<string> {
  let v = validators.get(operation);
  if (!v) {
    const schema = (schemas as unknown as Record<string, Schema>)[operation];
    if (!schema) return new Set();
    v = new Validator(schema, '2019-09', false);
    validators.set(operation, v);
  }
  const result = v.validate(body);
  return new Set(result.errors.map((e) => e.instanceLocation.replace(/^#/, '')).filter((p) => p !== ''));
}
