// The programme's reports, cut by the API to what the user's role sees: a table per report with the
// event-log point it reflects, and the same figures as CSV.
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Problem } from '../api/client.js';
import { formatDateTime, formatNumber } from '../i18n.js';
import { ProblemAlert } from '../problem.js';

type ReportInfo = { name: string; title: string; columns: string[] };
type Report = { report: string; columns: string[]; rows: Record<string, unknown>[]; position: { projectedAt: string; eventsApplied: number } };

const cell = (v: unknown): string => (typeof v === 'number' ? formatNumber(v) : v === null || v === undefined ? '' : String(v));

export function Reports() {
  const { t } = useTranslation();
  const [list, setList] = useState<ReportInfo[]>([]);
  const [name, setName] = useState('');
  const [semester, setSemester] = useState('');
  const [report, setReport] = useState<Report | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    api.GET('/reports').then(({ data, error, response }) => {
      if (data) {
        setList(data.reports);
        setName((n) => n || (data.reports[0]?.name ?? ''));
      } else setProblem({ ...(error as Problem), status: response.status });
    }, () => setProblem({ status: 0, detail: t('error.network') }));
  }, [t]);

  const query = () => new URLSearchParams(semester ? { semester } : {});
  const show = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    const { data, error, response } = await api.GET('/reports/{report}', {
      params: { path: { report: name as never }, query: semester ? { semester } : {} },
    });
    if (data) setReport(data as unknown as Report);
    else {
      setReport(null);
      setProblem({ ...(error as Problem), status: response.status });
    }
  };
  const csvHref = `/api/reports/${encodeURIComponent(name)}?${new URLSearchParams({ ...Object.fromEntries(query()), format: 'csv' }).toString()}`;

  return (
    <section>
      <h1>{t('reports.title')}</h1>
      <form className="filters" onSubmit={(e) => void show(e)}>
        <label>
          {t('reports.report')}
          <select value={name} onChange={(e) => setName(e.target.value)}>
            {list.map((r) => (
              <option key={r.name} value={r.name}>
                {t(`reports.names.${r.name}`, { defaultValue: r.title })}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('plans.semester')}
          <input value={semester} onChange={(e) => setSemester(e.target.value)} placeholder="2026/27-1" />
        </label>
        <button type="submit" className="primary">
          {t('reports.show')}
        </button>
        {name && (
          <a className="button" href={csvHref} download>
            {t('reports.csv')}
          </a>
        )}
      </form>
      <ProblemAlert problem={problem} />
      {report && (
        <>
          <p>{t('reports.position', { at: formatDateTime(report.position.projectedAt), events: formatNumber(report.position.eventsApplied) })}</p>
          {report.rows.length === 0 ? (
            <p>{t('reports.empty')}</p>
          ) : (
            <table>
              <caption>{t(`reports.names.${report.report}`, { defaultValue: report.report })}</caption>
              <thead>
                <tr>
                  {report.columns.map((c) => (
                    <th key={c} scope="col">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {report.rows.map((row, i) => (
                  <tr key={i}>
                    {report.columns.map((c) => (
                      <td key={c}>{cell(row[c])}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
