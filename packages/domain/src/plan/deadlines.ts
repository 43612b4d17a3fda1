// The plan's clock: which system command falls due next, and when. The workflow sleeps until that
// instant (or until the state changes) and then sends the command as the system actor, so every timer is
// derived from the state and a replay or continue-as-new never loses one.

import { semesterEndsAt, type DomainConfig } from '../config.js';
import { compareInstants, type Instant } from '../dates.js';
import type { PlanCommand } from './commands.js';
import { LIVE_STATUSES } from './decider.js';
import type { PlanState } from './state.js';

export interface Deadline {
  readonly at: Instant;
  readonly command: PlanCommand;
}

const BEFORE_SEMESTER_END: ReadonlySet<PlanState['status']> = new Set(LIVE_STATUSES);

/** The earliest deadline the plan's state has, or null when nothing is waiting for time to pass. */
export function nextDeadline(state: PlanState, config: DomainConfig): Deadline | null {
  const due: Deadline[] = [];
  if (state.status === 'awaiting_consent') {
    const r = state.consentRequest;
    due.push(
      r.reminderSentAt === null
        ? { at: r.reminderDueAt, command: { type: 'SendConsentReminder', data: {} } }
        : { at: r.expiresAt, command: { type: 'ExpireConsent', data: {} } },
    );
  }
  if (state.status !== 'none' && BEFORE_SEMESTER_END.has(state.status)) {
    due.push({ at: semesterEndsAt(state.semester, config), command: { type: 'EndSemester', data: {} } });
  }
  if (state.status === 'awaiting_evaluation' && !state.evaluationOverdue && state.evaluationDueAt !== null) {
    due.push({ at: state.evaluationDueAt, command: { type: 'MarkEvaluationOverdue', data: {} } });
  }
  due.sort((a, b) => compareInstants(a.at, b.at));
  return due[0] ?? null;
}
