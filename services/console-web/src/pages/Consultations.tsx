// Consultations on a plan: logging one held against an approved consultation measure, and recording the
// learner's confirmation, without which its minutes do not count as delivered.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client.js';
import { formatDateTime, formatDay } from '../i18n.js';

export type Send = (headers: Record<string, string>) => Promise<{ response: Response; error?: unknown }>;
type Measure = { measureId: string; kind: string; justification: string; providerType?: string; subject?: string };
type Consultation = { consultationId: string; measureId: string; date: string; minutes: number; mode: string; confirmedAt: string | null; confirmBy: string };

const today = () => new Date().toISOString().slice(0, 10);

export function Consultations(props: { planId: string; measures: Measure[]; consultations: Consultation[]; canLog: boolean; busy: boolean; act: (send: Send) => Promise<void> }) {
  const { t } = useTranslation();
  const { planId, act } = props;
  const consultationMeasures = props.measures.filter((m) => m.kind === 'consultation');
  const [measureId, setMeasureId] = useState(consultationMeasures[0]?.measureId ?? '');
  const [date, setDate] = useState(today());
  const [minutes, setMinutes] = useState('');
  const [mode, setMode] = useState<'in_person' | 'remote'>('in_person');
  const [orderRef, setOrderRef] = useState('');
  const measure = consultationMeasures.find((m) => m.measureId === measureId);
  const minutesOk = /^[1-9][0-9]{0,3}$/.test(minutes) && Number(minutes) <= 1440;

  const log = (e: FormEvent) => {
    e.preventDefault();
    if (!measure || !minutesOk) return;
    const consultationId = `c-${crypto.randomUUID()}`;
    void act((headers) =>
      api.POST('/plans/{planId}/consultations', {
        params: { path: { planId } },
        headers,
        body: {
          consultationId,
          measureId,
          date,
          providerType: measure.providerType as never,
          ...(measure.subject ? { subject: measure.subject } : {}),
          minutes: Number(minutes),
          mode,
          ...(mode === 'remote' && orderRef.trim() ? { directorOrderRef: orderRef.trim() } : {}),
        },
      }),
    ).then(() => setMinutes(''));
  };

  return (
    <>
      <h2>{t('consultation.title')}</h2>
      {props.consultations.length === 0 ? (
        <p>{t('consultation.none')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('consultation.date')}</th>
              <th scope="col">{t('consultation.minutes')}</th>
              <th scope="col">{t('consultation.mode')}</th>
              <th scope="col">{t('consultation.confirmed')}</th>
            </tr>
          </thead>
          <tbody>
            {props.consultations.map((c) => (
              <tr key={c.consultationId}>
                <td>{formatDay(c.date)}</td>
                <td>{c.minutes}</td>
                <td>{t(`consultation.${c.mode}`)}</td>
                <td>
                  {c.confirmedAt ? (
                    formatDateTime(c.confirmedAt)
                  ) : props.canLog ? (
                    <button
                      type="button"
                      disabled={props.busy}
                      onClick={() =>
                        void act((headers) =>
                          api.POST('/plans/{planId}/consultations/{consultationId}/confirmation', {
                            params: { path: { planId, consultationId: c.consultationId } },
                            headers,
                            body: {},
                          }),
                        )
                      }
                    >
                      {t('consultation.confirm', { date: formatDay(c.date) })}
                    </button>
                  ) : (
                    t('consultation.unconfirmed')
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.canLog && consultationMeasures.length > 0 && (
        <form onSubmit={log} className="card">
          <h3>{t('consultation.log')}</h3>
          <label>
            {t('consultation.measure')}
            <select value={measureId} onChange={(e) => setMeasureId(e.target.value)}>
              {consultationMeasures.map((m) => (
                <option key={m.measureId} value={m.measureId}>
                  {m.justification}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('consultation.date')}
            <input type="date" value={date} max={today()} onChange={(e) => setDate(e.target.value)} required />
          </label>
          <label>
            {t('consultation.minutes')}
            <input inputMode="numeric" value={minutes} onChange={(e) => setMinutes(e.target.value)} required aria-invalid={minutes !== '' && !minutesOk} />
          </label>
          <label>
            {t('consultation.mode')}
            <select value={mode} onChange={(e) => setMode(e.target.value as typeof mode)}>
              <option value="in_person">{t('consultation.in_person')}</option>
              <option value="remote">{t('consultation.remote')}</option>
            </select>
          </label>
          {mode === 'remote' && (
            <label>
              {t('consultation.orderRef')}
              <input value={orderRef} onChange={(e) => setOrderRef(e.target.value)} required />
            </label>
          )}
          <button type="submit" className="primary" disabled={props.busy || !minutesOk}>
            {t('consultation.submit')}
          </button>
        </form>
      )}
    </>
  );
}
