// The plans the user may see, filtered by semester and status, paged on the server.
import { PLAN_STATUSES, type PlanStatus } from '@iap/domain';
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Problem } from '../api/client.js';

import { formatDateTime } from '../i18n.js';
import { ProblemAlert } from '../problem.js';
import { Link } from '../router.js';

type Plan = { planId: string; version: number; status: string; learnerRef: string; semester: string; updatedAt: string };
type Status = PlanStatus;

export function PlanTable({ plans }: { plans: readonly Plan[] }) {
  const { t } = useTranslation();
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">{t('plans.learner')}</th>
          <th scope="col">{t('plans.semester')}</th>
          <th scope="col">{t('plans.status')}</th>
          <th scope="col">{t('plans.updated')}</th>
        </tr>
      </thead>
      <tbody>
        {plans.map((p) => (
          <tr key={p.planId}>
            <td>
              <Link href={`/plans/${p.planId}`} aria-label={t('plans.open', { learner: p.learnerRef })}>
                {p.learnerRef}
              </Link>
            </td>
            <td>{p.semester}</td>
            <td>{t(`status.${p.status}`)}</td>
            <td>{formatDateTime(p.updatedAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Plans() {
  const { t } = useTranslation();
  const [semester, setSemester] = useState('');
  const [status, setStatus] = useState<Status | ''>('');
  const [filter, setFilter] = useState<{ semester?: string; status?: Status }>({});
  const [cursors, setCursors] = useState<string[]>([]);
  const [page, setPage] = useState<{ items: Plan[]; nextCursor: string | null } | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    const cursor = cursors[cursors.length - 1];
    api
      .GET('/plans', { params: { query: { ...filter, limit: '20', ...(cursor ? { cursor } : {}) } } })
      .then(({ data, error, response }) => {
        if (data) {
          setPage(data as { items: Plan[]; nextCursor: string | null });
          setProblem(null);
        } else setProblem({ ...(error as Problem), status: response.status });
      }, () => setProblem({ status: 0, detail: t('error.network') }));
  }, [filter, cursors, t]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setCursors([]);
    setFilter({ ...(semester ? { semester } : {}), ...(status ? { status } : {}) });
  };

  return (
    <section>
      <h1>{t('plans.title')}</h1>
      <form className="filters" onSubmit={submit}>
        <label>
          {t('plans.semester')}
          <input value={semester} onChange={(e) => setSemester(e.target.value)} placeholder="2026/27-1" pattern="[0-9]{4}/[0-9]{2}-[12]" />
        </label>
        <label>
          {t('plans.status')}
          <select value={status} onChange={(e) => setStatus(e.target.value as Status | '')}>
            <option value="">{t('plans.any')}</option>
            {PLAN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`status.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">{t('plans.filter')}</button>
      </form>
      <ProblemAlert problem={problem} />
      {page && page.items.length === 0 && <p>{t('plans.none')}</p>}
      {page && page.items.length > 0 && <PlanTable plans={page.items} />}
      <div className="pager">
        {cursors.length > 0 && (
          <button type="button" onClick={() => setCursors([])}>
            {t('plans.first')}
          </button>
        )}
        {page?.nextCursor && (
          <button type="button" onClick={() => setCursors([...cursors, page.nextCursor!])}>
            {t('plans.next')}
          </button>
        )}
      </div>
    </section>
  );
}
