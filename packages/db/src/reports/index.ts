// The programme's reports over the async report tables, and their CSV form.
export * from './csv.js';
export * from './filter.js';
export * from './reports.js';
