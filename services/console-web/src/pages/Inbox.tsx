// Plans waiting for the user's approval level, in pages from the server (in approval), of which those
// waiting at this level are shown.
import { APPROVER_OF, type ApprovalLevel } from '@iap/domain';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Problem } from '../api/client.js';
import { ProblemAlert } from '../problem.js';
import { PlanTable } from './Plans.js';

export type Level = ApprovalLevel;
/** The approval level a role signs at (the domain's APPROVER_OF, read the other way). */
export const LEVEL_OF_ROLE: Record<string, Level | undefined> = Object.fromEntries(Object.entries(APPROVER_OF).map(([level, role]) => [role, level as Level]));

type Plan = { planId: string; version: number; status: string; learnerRef: string; semester: string; updatedAt: string; state: Record<string, unknown> };

export const pendingLevelOf = (p: { state: Record<string, unknown> }): string | undefined =>
  (p.state.approval as { pendingLevel?: string } | null | undefined)?.pendingLevel;

export function Inbox({ level }: { level: Level }) {
  const { t } = useTranslation();
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [page, setPage] = useState<{ items: Plan[]; nextCursor: string | null } | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  useEffect(() => {
    api
      .GET('/plans', { params: { query: { status: 'in_approval', limit: '50', ...(cursor ? { cursor } : {}) } } })
      .then(({ data, error, response }) => {
        if (data) setPage(data as { items: Plan[]; nextCursor: string | null });
        else setProblem({ ...(error as Problem), status: response.status });
      }, () => setProblem({ status: 0, detail: t('error.network') }));
  }, [cursor, t]);
  const waiting = page?.items.filter((p) => pendingLevelOf(p) === level) ?? [];
  return (
    <section>
      <h1>{t('inbox.title', { level: t(`level.${level}`) })}</h1>
      <ProblemAlert problem={problem} />
      {page && waiting.length === 0 && <p>{t('inbox.none')}</p>}
      {waiting.length > 0 && <PlanTable plans={waiting} />}
      {page?.nextCursor && (
        <div className="pager">
          <button type="button" onClick={() => setCursor(page.nextCursor!)}>
            {t('plans.next')}
          </button>
        </div>
      )}
    </section>
  );
}
