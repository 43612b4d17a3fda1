import { Writable } from 'node:stream';
import { DEFAULT_DOMAIN_CONFIG } from '@iap/domain';
import { describe, expect, it } from 'vitest';
import { loadDomainConfig } from './config.js';
import { createLogger } from './logger.js';

describe("the programme's years from IAP_DOMAIN_CONFIG", () => {
  it('takes both years, and refuses half of them or a reversed range', () => {
    expect(loadDomainConfig({ IAP_DOMAIN_CONFIG: '{"programmeYears":{"first":2024,"last":2029}}' }).programmeYears).toEqual({ first: 2024, last: 2029 });
    expect(loadDomainConfig({}).programmeYears).toEqual(DEFAULT_DOMAIN_CONFIG.programmeYears);
    expect(() => loadDomainConfig({ IAP_DOMAIN_CONFIG: '{"programmeYears":{"first":2024}}' })).toThrow(/programmeYears/);
    expect(() => loadDomainConfig({ IAP_DOMAIN_CONFIG: '{"programmeYears":{"first":2030,"last":2029}}' })).toThrow(/programmeYears/);
  });
});

describe('logged errors', () => {
  it('keep the SQLSTATE of a database error and drop what quotes the data', () => {
    let out = '';
    const log = createLogger('t', 'info', new Writable({ write: (c: Buffer, _e, done) => ((out += c.toString()), done()) }));
    // What node-postgres throws for text Postgres cannot hold in JSON, wrapped as a cause.
    const pgError = Object.assign(new Error('invalid input syntax for type date: "SECRET-1"'), {
      code: '22P02',
      severity: 'ERROR',
      detail: 'Unicode low surrogate must follow a high surrogate. SECRET-2',
      where: 'JSON data, line 1: {"note":"SECRET-3...',
      constraint: undefined,
      table: 'events',
    });
    log.error({ err: new Error('append failed', { cause: pgError }), error: pgError, parameters: ['SECRET-4'], query: { parameters: ['SECRET-5'] } }, 'x');
    expect(out).not.toMatch(/SECRET/);
    const line = JSON.parse(out) as { err: { message: string; cause: { code: string; table: string } }; error: { code: string } };
    expect(line.err.message).toBe('append failed');
    expect(line.err.cause).toMatchObject({ code: '22P02', table: 'events' });
    expect(line.error.code).toBe('22P02');
  });
});
