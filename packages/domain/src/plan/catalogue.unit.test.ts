import { describe, expect, it } from 'vitest';
import { ROLES } from '../actor.js';
import { fold } from './evolve.js';
import { EVENT_SCHEMA_VERSIONS, PLAN_EVENT_TYPES, upcastPlanEvent } from './events.js';
import { PLAN_COMMAND_ROLES, PLAN_COMMAND_TYPES, requiredRolesFor } from './rules.js';
import { initialState } from './state.js';
import {
  compensationClaimed,
  consultationLogged,
  implementingHistory,
  sampleDrafted,
} from '../testing/plan-fixtures.js';

describe('catalogue', () => {
  it('lists every command with the roles that may send it; auditors send none', () => {
    expect(PLAN_COMMAND_TYPES).toHaveLength(27);
    for (const t of PLAN_COMMAND_TYPES) {
      expect(requiredRolesFor(t).length).toBeGreaterThan(0);
      expect(requiredRolesFor(t).every((r) => ROLES.includes(r))).toBe(true);
      expect(PLAN_COMMAND_ROLES[t]).not.toContain('auditor');
    }
    expect(requiredRolesFor('EndSemester')).toEqual(['system']);
  });

  it('versions every event type at 1', () => {
    expect(PLAN_EVENT_TYPES).toHaveLength(28);
    expect(Object.values(EVENT_SCHEMA_VERSIONS).every((v) => v === 1)).toBe(true);
  });

  it('upcasts stored events of the current version and refuses unknown ones', () => {
    const e = sampleDrafted();
    expect(upcastPlanEvent({ type: e.type, schemaVersion: 1, data: e.data })).toEqual(e);
    expect(() => upcastPlanEvent({ type: 'PlanExploded', schemaVersion: 1, data: {} })).toThrow(/unknown/);
    expect(() => upcastPlanEvent({ type: 'PlanDrafted', schemaVersion: 2, data: {} })).toThrow(/no upcaster/);
  });

  it('replays a stream with fold, taking the version from the log', () => {
    const events = [...implementingHistory(), consultationLogged(), compensationClaimed()];
    const s = fold(
      events.map((event, i) => ({ event, meta: { occurredAt: '2025-09-12T00:00:00.000Z', version: i + 1 } })),
      initialState(),
    );
    expect(s).toMatchObject({ status: 'in_implementation', version: events.length });
  });

  it('refuses a stream that does not start with PlanDrafted', () => {
    expect(() => fold([{ event: consultationLogged(), meta: { occurredAt: 'x', version: 1 } }], initialState())).toThrow();
  });
});
