// The auditor's view of a plan: its timeline from the event log, its state as of an instant (the decider
// replayed over the log), what changed between two instants, and the hash chain's verification.
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Problem } from '../api/client.js';
import { formatDateTime, formatNumber } from '../i18n.js';
import { ProblemAlert } from '../problem.js';

type Entry = { eventId: string; type: string; version: number; occurredAt: string; actorId: string; actorRole: string };
type Change = { path: string; kind: 'added' | 'removed' | 'changed' };

/** A datetime-local value (the user's own clock) as an RFC 3339 instant. */
const instantOf = (local: string): string => new Date(local).toISOString();
const localNow = (): string => {
  const d = new Date();
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 19);
};
/** An instant as a datetime-local value in the user's own clock, to the second. */
const localOf = (iso: string): string => new Date(new Date(iso).getTime() - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 19);

export function Audit({ planId }: { planId: string }) {
  const { t } = useTranslation();
  const [events, setEvents] = useState<Entry[] | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [at, setAt] = useState(localNow());
  const [asOf, setAsOf] = useState<{ version: number; status: string } | null>(null);
  const [from, setFrom] = useState('');
  const [changes, setChanges] = useState<{ from: { version: number }; to: { version: number }; changes: Change[] } | null>(null);
  const [verify, setVerify] = useState<{ intact: boolean; events: number; streams: number } | null>(null);

  const fail = (error: unknown, response: Response) => setProblem({ ...(error as Problem), status: response.status });

  useEffect(() => {
    api.GET('/audit/plans/{planId}/events', { params: { path: { planId } } }).then(({ data, error, response }) => {
      if (data) {
        setEvents(data.events as Entry[]);
        setFrom((f) => f || (data.events[0] ? localOf(data.events[0].occurredAt) : ''));
      } else fail(error, response);
    }, () => setProblem({ status: 0, detail: t('error.network') }));
  }, [planId, t]);

  const stateAt = async (e: FormEvent) => {
    e.preventDefault();
    const { data, error, response } = await api.GET('/audit/plans/{planId}/state', { params: { path: { planId }, query: { at: instantOf(at) } } });
    if (data) setAsOf({ version: data.version, status: String(data.state.status ?? '') });
    else fail(error, response);
  };
  const diff = async (e: FormEvent) => {
    e.preventDefault();
    const { data, error, response } = await api.GET('/audit/plans/{planId}/diff', { params: { path: { planId }, query: { from: instantOf(from), to: instantOf(at) } } });
    if (data) setChanges(data as typeof changes);
    else fail(error, response);
  };
  const check = async () => {
    const { data, error, response } = await api.GET('/audit/verify', { params: { query: { planId } } });
    if (data) setVerify(data);
    else fail(error, response);
  };

  return (
    <section aria-labelledby="audit-h">
      <h2 id="audit-h">{t('audit.title')}</h2>
      <ProblemAlert problem={problem} />
      {events && (
        <table>
          <caption>{t('plan.timeline')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('audit.version')}</th>
              <th scope="col">{t('audit.when')}</th>
              <th scope="col">{t('audit.event')}</th>
              <th scope="col">{t('audit.who')}</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.eventId}>
                <td>{e.version}</td>
                <td>{formatDateTime(e.occurredAt)}</td>
                <td>{t(`event.${e.type}`, { defaultValue: e.type })}</td>
                <td>
                  {t(`role.${e.actorRole}`, { defaultValue: e.actorRole })} ({e.actorId})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="filters" onSubmit={(e) => void stateAt(e)}>
        <label>
          {t('audit.at')}
          <input type="datetime-local" step="1" value={at} onChange={(e) => setAt(e.target.value)} required />
        </label>
        <button type="submit">{t('audit.stateAt')}</button>
      </form>
      {asOf && (
        <p data-testid="state-at">
          {asOf.version === 0 ? t('audit.notYet') : t('audit.stateWas', { version: asOf.version, status: t(`status.${asOf.status}`) })}
        </p>
      )}
      <form className="filters" onSubmit={(e) => void diff(e)}>
        <label>
          {t('audit.from')}
          <input type="datetime-local" step="1" value={from} onChange={(e) => setFrom(e.target.value)} required />
        </label>
        <button type="submit">{t('audit.diff', { to: at ? formatDateTime(instantOf(at)) : '' })}</button>
      </form>
      {changes && (
        <div>
          <p>{t('audit.diffSummary', { from: changes.from.version, to: changes.to.version, count: changes.changes.length })}</p>
          <ul>
            {changes.changes.map((c) => (
              <li key={c.path}>
                {c.path}: {t(`audit.${c.kind}`)}
              </li>
            ))}
          </ul>
        </div>
      )}
      <button type="button" onClick={() => void check()}>
        {t('audit.verify')}
      </button>
      {verify && (
        <p role="status" data-testid="verify">
          {verify.intact ? t('audit.intact', { events: formatNumber(verify.events) }) : t('audit.broken')}
        </p>
      )}
    </section>
  );
}
