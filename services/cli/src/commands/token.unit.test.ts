import { describe, expect, it } from 'vitest';
import { tokenSubject } from './token.js';

describe('iap token', () => {
  it('refuses a finance token that names its partner but not the partner type', () => {
    expect(tokenSubject({ role: 'finance', sub: 'f', partner: 'muni-1' })).toEqual({ error: 'a finance token needs --partner-type' });
  });

  it('names every scope option a role needs, and refuses a partner type that does not exist', () => {
    expect(tokenSubject({ role: 'preparer', sub: 'p', school: 's' })).toEqual({ error: 'a preparer token needs --municipality, --partner, --partner-type' });
    expect(tokenSubject({ role: 'finance', sub: 'f', partner: 'm', partnerType: 'city' })).toEqual({ error: '--partner-type must be one of municipality, state_vocational' });
    expect(tokenSubject({ role: 'teacher', sub: 't' })).toMatchObject({ error: expect.stringContaining('--role must be one of') });
    expect(tokenSubject({ role: 'auditor', sub: 'a', partner: 'm' })).toEqual({ error: '--partner needs --partner-type (municipality or state_vocational)' });
  });

  it('makes the claims of a complete scope', () => {
    expect(tokenSubject({ role: 'finance', sub: 'f', partner: 'm', partnerType: 'municipality' })).toEqual({ sub: 'f', role: 'finance', partner: 'm', partnerType: 'municipality' });
    expect(tokenSubject({ role: 'auditor', sub: 'a' })).toEqual({ sub: 'a', role: 'auditor' });
  });
});
