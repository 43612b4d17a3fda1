import { describe, expect, it } from 'vitest';
import { DEFAULT_DOMAIN_CONFIG } from '../config.js';
import { approvedHistory, consentedHistory, ctxAs, planSpec, sampleDrafted } from '../testing/plan-fixtures.js';
import { nextDeadline } from './deadlines.js';

const cfg = DEFAULT_DOMAIN_CONFIG;

describe('nextDeadline', () => {
  it('is the semester end for a draft (the semester of the sample plan ends on 1 January)', () => {
    const s = planSpec.given([sampleDrafted()]).state;
    expect(nextDeadline(s, cfg)).toEqual({ at: '2026-01-01T00:00:00.000Z', command: { type: 'EndSemester', data: {} } });
  });

  it('follows a consent request: reminder first, expiry once the reminder went out', () => {
    const requested = planSpec.given([sampleDrafted()]).when({ type: 'RequestConsent', data: {} }, ctxAs('preparer', '2025-09-02T09:00:00.000Z'));
    const [event] = requested.events();
    const waiting = planSpec.given([sampleDrafted(), event!]).state;
    expect(nextDeadline(waiting, cfg)).toEqual({ at: '2025-09-09T09:00:00.000Z', command: { type: 'SendConsentReminder', data: {} } });
    const reminded = planSpec.given([sampleDrafted(), event!, { type: 'ConsentReminderSent', data: {} }]).state;
    expect(nextDeadline(reminded, cfg)).toEqual({ at: '2025-09-16T09:00:00.000Z', command: { type: 'ExpireConsent', data: {} } });
  });

  it('takes an exact semester end from the configuration', () => {
    const s = planSpec.given(consentedHistory()).state;
    const at = '2025-10-01T12:00:00.000Z';
    const config = { ...cfg, semesterEndInstants: { [s.status === 'none' ? '' : s.semester]: at } };
    expect(nextDeadline(s, config)?.at).toBe(at);
  });

  it('waits for the evaluation deadline after the semester ended, and for nothing once overdue', () => {
    const ended = [...approvedHistory(), { type: 'SemesterEnded' as const, data: { evaluationDueAt: '2026-01-15T00:00:00.000Z' } }];
    expect(nextDeadline(planSpec.given(ended).state, cfg)).toEqual({
      at: '2026-01-15T00:00:00.000Z',
      command: { type: 'MarkEvaluationOverdue', data: {} },
    });
    expect(nextDeadline(planSpec.given([...ended, { type: 'EvaluationOverdue', data: {} }]).state, cfg)).toBeNull();
  });
});
