// The draft form: risks under the four types, consultation measures linked to them, planned minutes.
// Checked as the user types against the API's own schema for the request; a field is marked once it was
// edited (all of them after a first try to save).
import { CONSULTATION_PROVIDER_TYPES, RISK_TYPES, semesterOf } from '@iap/domain';
import { useMemo, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, newIdempotencyKey, type Problem } from '../api/client.js';
import { invalidPointers } from '../api/validate.js';
import { ProblemAlert } from '../problem.js';
import { navigate } from '../router.js';

const PROVIDERS = CONSULTATION_PROVIDER_TYPES;

interface RiskRow { riskId: string; type: (typeof RISK_TYPES)[number]; factor: string; note: string }
interface MeasureRow { measureId: string; riskIds: string[]; justification: string; providerType: (typeof PROVIDERS)[number]; subject: string; plannedMinutes: string }

export function NewPlan() {
  const { t } = useTranslation();
  const [learnerRef, setLearnerRef] = useState('');
  const [semester, setSemester] = useState(() => semesterOf(new Date().toISOString()));
  const [grade, setGrade] = useState('7');
  const [risks, setRisks] = useState<RiskRow[]>([{ riskId: 'r1', type: 'learning', factor: '', note: '' }]);
  const [measures, setMeasures] = useState<MeasureRow[]>([{ measureId: 'm1', riskIds: ['r1'], justification: '', providerType: 'teacher', subject: '', plannedMinutes: '' }]);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const key = useRef(newIdempotencyKey());

  const [edited, setEdited] = useState<Set<string>>(new Set());
  const body = useMemo(
    () => ({
      learnerRef: learnerRef.trim(),
      semester,
      grade: Number(grade),
      risks: risks.map((r) => ({ ...r, factor: r.factor.trim() })),
      measures: measures.map((m) => ({
        measureId: m.measureId,
        kind: 'consultation' as const,
        riskIds: m.riskIds,
        justification: m.justification.trim(),
        providerType: m.providerType,
        ...(m.subject.trim() ? { subject: m.subject.trim() } : {}),
        plannedMinutes: /^[0-9]+$/.test(m.plannedMinutes) ? Number(m.plannedMinutes) : (m.plannedMinutes as unknown as number),
      })),
    }),
    [learnerRef, semester, grade, risks, measures],
  );
  const invalid = useMemo(() => {
    const found = invalidPointers('POST /plans', body);
    if (body.learnerRef === '') found.add('/learnerRef');
    body.risks.forEach((r, i) => r.factor === '' && found.add(`/risks/${i}/factor`));
    body.measures.forEach((m, i) => m.justification === '' && found.add(`/measures/${i}/justification`));
    return found;
  }, [body]);
  const valid = invalid.size === 0;
  /** aria-invalid for the field at `pointer`, once the user edited it (or tried to save). */
  const bad = (pointer: string): true | undefined => ((touched || edited.has(pointer)) && invalid.has(pointer)) || (problem?.field?.endsWith(pointer.replaceAll('/', '.')) ?? false) || undefined;
  const edit = (pointer: string) => !edited.has(pointer) && setEdited(new Set(edited).add(pointer));

  const setRisk = (i: number, patch: Partial<RiskRow>) => setRisks(risks.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const setMeasure = (i: number, patch: Partial<MeasureRow>) => setMeasures(measures.map((m, j) => (j === i ? { ...m, ...patch } : m)));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!valid) {
      setProblem(null);
      return;
    }
    setBusy(true);
    try {
      const { data, error, response } = await api.POST('/plans', { headers: { 'idempotency-key': key.current }, body });
      if (data) navigate(`/plans/${data.planId}`);
      else {
        setProblem({ ...(error as Problem), status: response.status });
        if (response.status < 500) key.current = newIdempotencyKey();
      }
    } catch {
      setProblem({ status: 0, detail: t('error.network') });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>{t('draft.title')}</h1>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {touched && !valid && <p role="alert" className="alert">{t('draft.invalid')}</p>}
        <ProblemAlert problem={problem} />
        <div className="grid">
          <label>
            {t('draft.learnerRef')}
            <input name="learnerRef" value={learnerRef} onChange={(e) => { setLearnerRef(e.target.value); edit('/learnerRef'); }} required aria-invalid={bad('/learnerRef')} aria-describedby="learner-hint" />
            <small id="learner-hint">{t('draft.learnerHint')}</small>
          </label>
          <label>
            {t('draft.semester')}
            <input name="semester" value={semester} onChange={(e) => { setSemester(e.target.value); edit('/semester'); }} required aria-invalid={bad('/semester')} />
          </label>
          <label>
            {t('draft.grade')}
            <select name="grade" value={grade} onChange={(e) => setGrade(e.target.value)}>
              {Array.from({ length: 12 }, (_, i) => String(i + 1)).map((g) => (
                <option key={g}>{g}</option>
              ))}
            </select>
          </label>
        </div>
        <fieldset>
          <legend>{t('draft.risks')}</legend>
          {risks.map((r, i) => (
            <fieldset key={r.riskId} className="row">
              <legend>{t('draft.risk', { n: i + 1 })}</legend>
              <label>
                {t('draft.type')}
                <select value={r.type} onChange={(e) => setRisk(i, { type: e.target.value as RiskRow['type'] })}>
                  {RISK_TYPES.map((ty) => (
                    <option key={ty} value={ty}>
                      {t(`riskType.${ty}`)}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                {t('draft.factor')}
                <input value={r.factor} maxLength={200} onChange={(e) => { setRisk(i, { factor: e.target.value }); edit(`/risks/${i}/factor`); }} required aria-invalid={bad(`/risks/${i}/factor`)} />
              </label>
              <label>
                {t('draft.note')}
                <textarea value={r.note} maxLength={2000} onChange={(e) => setRisk(i, { note: e.target.value })} />
              </label>
              {risks.length > 1 && (
                <button type="button" onClick={() => setRisks(risks.filter((_, j) => j !== i))}>
                  {t('draft.remove')}
                </button>
              )}
            </fieldset>
          ))}
          <button type="button" onClick={() => setRisks([...risks, { riskId: `r${Date.now()}`, type: 'learning', factor: '', note: '' }])}>
            {t('draft.addRisk')}
          </button>
        </fieldset>
        <fieldset>
          <legend>{t('draft.measures')}</legend>
          {measures.map((m, i) => (
            <fieldset key={m.measureId} className="row">
              <legend>{t('draft.measure', { n: i + 1 })}</legend>
              <fieldset className="inline">
                <legend>{t('draft.linkedRisks')}</legend>
                {risks.map((r, ri) => (
                  <label key={r.riskId} className="check">
                    <input
                      type="checkbox"
                      checked={m.riskIds.includes(r.riskId)}
                      onChange={(e) => setMeasure(i, { riskIds: e.target.checked ? [...m.riskIds, r.riskId] : m.riskIds.filter((x) => x !== r.riskId) })}
                    />
                    {t('draft.risk', { n: ri + 1 })}
                  </label>
                ))}
              </fieldset>
              <label>
                {t('draft.justification')}
                <textarea value={m.justification} maxLength={2000} onChange={(e) => { setMeasure(i, { justification: e.target.value }); edit(`/measures/${i}/justification`); }} required aria-invalid={bad(`/measures/${i}/justification`)} />
              </label>
              <label>
                {t('draft.providerType')}
                <select value={m.providerType} onChange={(e) => setMeasure(i, { providerType: e.target.value as MeasureRow['providerType'] })}>
                  {PROVIDERS.map((p) => (
                    <option key={p} value={p}>
                      {t(`provider.${p}`)}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                {t('draft.subject')}
                <input value={m.subject} maxLength={100} onChange={(e) => setMeasure(i, { subject: e.target.value })} />
              </label>
              <label>
                {t('draft.plannedMinutes')}
                <input inputMode="numeric" value={m.plannedMinutes} onChange={(e) => { setMeasure(i, { plannedMinutes: e.target.value }); edit(`/measures/${i}/plannedMinutes`); }} required aria-invalid={bad(`/measures/${i}/plannedMinutes`)} />
              </label>
              {measures.length > 1 && (
                <button type="button" onClick={() => setMeasures(measures.filter((_, j) => j !== i))}>
                  {t('draft.remove')}
                </button>
              )}
            </fieldset>
          ))}
          <button type="button" onClick={() => setMeasures([...measures, { measureId: `m${Date.now()}`, riskIds: risks[0] ? [risks[0].riskId] : [], justification: '', providerType: 'teacher', subject: '', plannedMinutes: '' }])}>
            {t('draft.addMeasure')}
          </button>
        </fieldset>
        <button type="submit" className="primary" disabled={busy}>
          {t('draft.save')}
        </button>
      </form>
    </section>
  );
}
