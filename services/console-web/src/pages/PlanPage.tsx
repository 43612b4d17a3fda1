// A plan: its status, risks and measures, planned against delivered per measure, and the steps the user's
// role may take now. Every step sends the version shown (If-Match); a plan changed meanwhile is reloaded.
import { PLAN_COMMAND_ROLES, type PlanCommandType, type Role } from '@iap/domain';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, newIdempotencyKey, type Problem, type SessionUser } from '../api/client.js';
import { formatDateTime, formatEuro } from '../i18n.js';
import { ProblemAlert } from '../problem.js';
import { Audit } from './Audit.js';
import { Consultations } from './Consultations.js';
import { LEVEL_OF_ROLE, pendingLevelOf } from './Inbox.js';

interface Plan {
  planId: string;
  version: number;
  status: string;
  learnerRef: string;
  semester: string;
  updatedAt: string;
  state: Record<string, unknown>;
}
type Risk = { riskId: string; type: string; factor: string; note: string };
type Measure = { measureId: string; kind: string; justification: string; riskIds: string[]; plannedMinutes?: number; plannedCents?: number };
type Progress = { measureId: string; kind: string; plannedMinutes?: number; deliveredMinutes?: number; plannedCents?: number; paidCents?: number };

const today = () => new Date().toISOString().slice(0, 10);
/** Whether the domain lets this role send the command at all (the API still decides on the plan). */
/** Who reads the audit log (the API refuses anyone else). */
const AUDIT_READERS = new Set(['auditor', 'national_coordinator']);
const mayRole = (role: string, command: PlanCommandType): boolean => PLAN_COMMAND_ROLES[command].includes(role as Role);

export function PlanPage({ planId, user }: { planId: string; user: SessionUser }) {
  const { t } = useTranslation();
  const [plan, setPlan] = useState<Plan | null>(null);
  const [progress, setProgress] = useState<Progress[]>([]);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [givenBy, setGivenBy] = useState<'parent' | 'legal_representative' | 'learner'>('parent');
  const [signedOn, setSignedOn] = useState(today());
  const [documentRef, setDocumentRef] = useState('');
  const [comment, setComment] = useState('');
  const [reason, setReason] = useState('');
  const key = useRef(newIdempotencyKey());

  const load = useCallback(async () => {
    const [p, pr] = await Promise.all([
      api.GET('/plans/{planId}', { params: { path: { planId } } }),
      api.GET('/plans/{planId}/progress', { params: { path: { planId } } }),
    ]);
    if (p.data) setPlan(p.data as Plan);
    else {
      setPlan(null);
      setProblem({ ...(p.error as Problem), status: p.response.status });
    }
    if (pr.data) setProgress(pr.data.measures as Progress[]);
  }, [planId]);

  useEffect(() => {
    load().catch(() => setProblem({ status: 0, detail: t('error.network') }));
  }, [load, t]);

  /** One step on the plan: sent with the version shown and a key that a retry of this step reuses. */
  const act = async (send: (headers: Record<string, string>) => Promise<{ response: Response; error?: unknown }>) => {
    if (!plan) return;
    setBusy(true);
    setNotice(null);
    setProblem(null);
    try {
      const { response, error } = await send({ 'idempotency-key': key.current, 'if-match': `"${plan.version}"` });
      if (response.ok) {
        key.current = newIdempotencyKey();
        setNotice(t('plan.done'));
        setComment('');
      } else if (response.status === 412) {
        key.current = newIdempotencyKey();
        setNotice(t('plan.changed'));
      } else {
        if (response.status < 500) key.current = newIdempotencyKey();
        setProblem({ ...(error as Problem), status: response.status });
      }
      await load();
    } catch {
      setProblem({ status: 0, detail: t('error.network') });
    } finally {
      setBusy(false);
    }
  };

  if (!plan) return <ProblemAlert problem={problem} />;
  const s = plan.state;
  const risks = (s.risks as Risk[] | undefined) ?? [];
  const measures = (s.measures as Measure[] | undefined) ?? [];
  // A consent record is set once the signed application is recorded.
  const consentGranted = s.consent !== null && s.consent !== undefined;
  const may = (command: PlanCommandType) => mayRole(user.role, command);
  const myLevel = LEVEL_OF_ROLE[user.role];
  const pending = pendingLevelOf(plan);
  const canConsent = may('GrantConsent') && ['draft', 'awaiting_consent'].includes(plan.status) && !consentGranted;
  const canSubmit = may('SubmitForApproval') && ['draft', 'returned', 'in_revision'].includes(plan.status) && consentGranted;
  const canApprove = plan.status === 'in_approval' && myLevel !== undefined && pending === myLevel;
  const canLog = may('LogConsultation') && ['approved', 'in_implementation'].includes(plan.status);
  const canSuspend = may('SuspendPlan') && ['in_approval', 'approved', 'in_implementation'].includes(plan.status);
  const canResume = may('ResumePlan') && plan.status === 'suspended';
  const canDelete = may('DeletePlan') && !['deleted', 'closed', 'consent_refused', 'consent_expired'].includes(plan.status);
  const consultations = (s.consultations as Parameters<typeof Consultations>[0]['consultations'] | undefined) ?? [];

  const recordConsent = (e: FormEvent) => {
    e.preventDefault();
    void act((headers) =>
      api.POST('/plans/{planId}/consent', { params: { path: { planId } }, headers, body: { givenBy, signedOn, documentRef: documentRef.trim() } }),
    );
  };
  const approve = () =>
    void act((headers) =>
      api.POST('/plans/{planId}/approvals', { params: { path: { planId } }, headers, body: { level: myLevel!, ...(comment.trim() ? { comment: comment.trim() } : {}) } }),
    );
  /** Suspend, resume or delete: each with the reason typed in the same box. */
  const withReason = (path: '/plans/{planId}/suspension' | '/plans/{planId}/deletion' | '/plans/{planId}/resumption', required: boolean) => {
    if (required && !reason.trim()) {
      setNotice(t('manage.reasonNeeded'));
      return;
    }
    void act((headers) => api.POST(path, { params: { path: { planId } }, headers, body: reason.trim() ? { reason: reason.trim() } : {} } as never)).then(() => setReason(''));
  };
  const giveBack = () => {
    if (!comment.trim()) {
      setNotice(t('approve.commentNeeded'));
      return;
    }
    void act((headers) => api.POST('/plans/{planId}/returns', { params: { path: { planId } }, headers, body: { level: myLevel!, comment: comment.trim() } }));
  };

  return (
    <section>
      <h1>{t('plan.title', { learner: plan.learnerRef })}</h1>
      <dl className="facts">
        <dt>{t('plan.status')}</dt>
        <dd data-testid="plan-status">{t(`status.${plan.status}`)}</dd>
        {pending && (
          <>
            <dt>{t('plan.waitingFor', { level: '' }).replace(/[:\s]+$/, '')}</dt>
            <dd>{t(`level.${pending}`)}</dd>
          </>
        )}
        <dt>{t('plan.semester')}</dt>
        <dd>{plan.semester}</dd>
        <dt>{t('plan.version')}</dt>
        <dd>{plan.version}</dd>
        <dt>{t('plans.updated')}</dt>
        <dd>{formatDateTime(plan.updatedAt)}</dd>
      </dl>
      <div aria-live="polite">{notice && <p className="notice">{notice}</p>}</div>
      <ProblemAlert problem={problem} />

      <h2>{t('plan.risks')}</h2>
      <ul>
        {risks.map((r) => (
          <li key={r.riskId}>
            <strong>{t(`riskType.${r.type}`)}</strong>: {r.factor}
          </li>
        ))}
      </ul>

      <h2>{t('plan.progress')}</h2>
      <ul className="progress">
        {measures.map((m) => {
          const p = progress.find((x) => x.measureId === m.measureId);
          const minutes = m.kind === 'consultation';
          const planned = minutes ? (p?.plannedMinutes ?? m.plannedMinutes ?? 0) : (p?.plannedCents ?? m.plannedCents ?? 0);
          const done = minutes ? (p?.deliveredMinutes ?? 0) : (p?.paidCents ?? 0);
          const label = minutes
            ? t('plan.minutes', { delivered: done, planned })
            : t('plan.amount', { paid: formatEuro(done / 100), planned: formatEuro(planned / 100) });
          return (
            <li key={m.measureId}>
              <span id={`m-${m.measureId}`}>
                {t(`measureKind.${m.kind}`)} — {m.justification}
              </span>
              <progress max={Math.max(planned, 1)} value={done} aria-labelledby={`m-${m.measureId}`} aria-valuetext={label} />
              <span>{label}</span>
            </li>
          );
        })}
      </ul>

      {(canLog || consultations.length > 0) && (
        <Consultations planId={planId} measures={measures} consultations={consultations} canLog={canLog} busy={busy} act={act} />
      )}

      {(canConsent || canSubmit || canApprove || canSuspend || canResume || canDelete) && <h2>{t('plan.actions')}</h2>}
      {canConsent && (
        <form onSubmit={recordConsent} className="card">
          <h3>{t('consent.title')}</h3>
          <label>
            {t('consent.givenBy')}
            <select value={givenBy} onChange={(e) => setGivenBy(e.target.value as typeof givenBy)}>
              <option value="parent">{t('consent.parent')}</option>
              <option value="legal_representative">{t('consent.legal_representative')}</option>
              <option value="learner">{t('consent.learner')}</option>
            </select>
          </label>
          <label>
            {t('consent.signedOn')}
            <input type="date" value={signedOn} max={today()} onChange={(e) => setSignedOn(e.target.value)} required />
          </label>
          <label>
            {t('consent.documentRef')}
            <input value={documentRef} onChange={(e) => setDocumentRef(e.target.value)} required />
          </label>
          <button type="submit" className="primary" disabled={busy || documentRef.trim() === ''}>
            {t('consent.submit')}
          </button>
        </form>
      )}
      {canSubmit && (
        <button type="button" className="primary" disabled={busy} onClick={() => void act((headers) => api.POST('/plans/{planId}/submission', { params: { path: { planId } }, headers, body: {} }))}>
          {t('submit.button')}
        </button>
      )}
      {canApprove && (
        <div className="card">
          <label>
            {t('approve.comment')}
            <textarea value={comment} maxLength={2000} onChange={(e) => setComment(e.target.value)} />
          </label>
          <button type="button" className="primary" disabled={busy} onClick={approve}>
            {t('approve.approve', { level: t(`level.${myLevel}`) })}
          </button>
          <button type="button" disabled={busy} onClick={giveBack}>
            {t('approve.return')}
          </button>
        </div>
      )}
      {(canSuspend || canResume || canDelete) && (
        <div className="card">
          <label>
            {t('manage.reason')}
            <textarea value={reason} maxLength={2000} onChange={(e) => setReason(e.target.value)} />
          </label>
          {canSuspend && (
            <button type="button" disabled={busy} onClick={() => withReason('/plans/{planId}/suspension', true)}>
              {t('manage.suspend')}
            </button>
          )}
          {canResume && (
            <button type="button" disabled={busy} onClick={() => withReason('/plans/{planId}/resumption', false)}>
              {t('manage.resume')}
            </button>
          )}
          {canDelete && (
            <button type="button" disabled={busy} onClick={() => withReason('/plans/{planId}/deletion', true)}>
              {t('manage.delete')}
            </button>
          )}
        </div>
      )}
      {AUDIT_READERS.has(user.role) && <Audit planId={planId} />}
    </section>
  );
}
