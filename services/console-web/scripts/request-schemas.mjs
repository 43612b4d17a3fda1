// Extracts the request-body schemas from the API's OpenAPI document into src/api/request-schemas.json, so
// the console validates a form as the user types with the API's own rules (run by the bootstrap).
import { readFileSync, writeFileSync } from 'node:fs';

const doc = JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8'));
const out = {};
for (const [path, ops] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(ops)) {
    const schema = op?.requestBody?.content?.['application/json']?.schema;
    if (schema) out[`${method.toUpperCase()} ${path}`] = schema;
  }
}
writeFileSync(new URL('../src/api/request-schemas.json', import.meta.url), `${JSON.stringify(out)}\n`);
