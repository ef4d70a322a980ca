// Small building blocks every page uses: a loader with an error, an action button that never
// spins forever, labelled fields, addresses, amounts and an SVG line plot.
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { displayAddress, errorText, fmtOpen } from './lib/chain';

/** Loads `load()` when `deps` change; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: string; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (e) => live && setState({ error: errorText(e), loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { ...state, reload: useCallback(() => setTick((t) => t + 1), []) };
}

/** A load's state: a short "Loading" line, its error, or `children`. */
export function Loaded<T>({ state, children }: { state: { data?: T; error?: string; loading: boolean }; children: (d: T) => ReactNode }) {
  if (state.error) return <p className="error" role="alert">{state.error}</p>;
  if (state.data === undefined) return <p className="muted" aria-busy="true">Loading…</p>;
  return <>{children(state.data)}</>;
}

/**
 * A button that runs `run`: disabled while it runs, with its progress beside it; its error (a
 * sentence) or its result shown after. `run` rejects within its own deadlines, so the button
 * never stays busy.
 */
export function Action({
  label,
  run,
  disabled,
  kind,
  testId,
}: {
  label: string;
  run: (progress: (s: string) => void) => Promise<string | void>;
  disabled?: boolean;
  kind?: 'primary' | 'danger';
  testId?: string;
}) {
  const [busy, setBusy] = useState<string | null>(null);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const live = useRef(true);
  useEffect(() => () => void (live.current = false), []);
  const go = async () => {
    setBusy('Working…');
    setResult(null);
    try {
      const out = await run((s) => live.current && setBusy(s));
      if (live.current) setResult(out ? { ok: true, text: out } : null);
    } catch (e) {
      if (live.current) setResult({ ok: false, text: errorText(e) });
    } finally {
      if (live.current) setBusy(null);
    }
  };
  return (
    <span className="action">
      <button type="button" className={kind ?? ''} disabled={disabled || busy !== null} onClick={go} data-testid={testId}>
        {label}
      </button>
      {busy && (
        <span className="muted" role="status" aria-live="polite">
          {busy}
        </span>
      )}
      {result && (
        <span className={result.ok ? 'ok' : 'error'} role={result.ok ? 'status' : 'alert'} data-testid={testId ? `${testId}-result` : undefined}>
          {result.text}
        </span>
      )}
    </span>
  );
}

/** A labelled input. */
export function Field({
  label,
  value,
  onChange,
  type,
  placeholder,
  hint,
  testId,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  type?: string;
  placeholder?: string;
  hint?: string;
  testId?: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} type={type ?? 'text'} value={value} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} data-testid={testId} aria-describedby={hint ? `${id}-hint` : undefined} />
      {hint && (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      )}
    </div>
  );
}

/** A labelled select. */
export function Select({ label, value, onChange, options, testId }: { label: string; value: string; onChange: (v: string) => void; options: [string, string][]; testId?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        {options.map(([v, t]) => (
          <option key={v} value={v}>
            {t}
          </option>
        ))}
      </select>
    </div>
  );
}

/** An address, shortened, the whole of it on hover and to screen readers. */
export function Addr({ a: raw }: { a: string }) {
  const a = displayAddress(raw);
  return (
    <span className="mono" title={a} aria-label={a}>
      {a.length > 16 ? `${a.slice(0, 6)}…${a.slice(-6)}` : a}
    </span>
  );
}

/** A hash, shortened. */
export function Hash({ h }: { h: string }) {
  return (
    <span className="mono" title={h}>
      {h.length > 20 ? `${h.slice(0, 10)}…${h.slice(-8)}` : h}
    </span>
  );
}

export function Open({ v }: { v: string | bigint | number }) {
  return <span className="amount">{fmtOpen(v)}</span>;
}

/**
 * A line plot in SVG (no canvas, so it scales, prints and has a text alternative): `points`
 * as (x, y), with the axes' ranges labelled. `title` names it to screen readers.
 */
export function Plot({
  points,
  title,
  xLabel,
  yLabel,
  fmtY,
  testId,
  mark,
}: {
  points: [number, number][];
  title: string;
  xLabel: string;
  yLabel: string;
  fmtY?: (y: number) => string;
  testId?: string;
  /** A point to mark (where things stand now), labelled. */
  mark?: { at: [number, number]; label: string };
}) {
  const W = 400;
  const H = 190;
  const P = 30;
  // Room on the left for the y labels.
  const L = 70;
  if (points.length === 0) return <p className="muted">{title}: nothing to plot yet.</p>;
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(...ys)];
  const sx = (x: number) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - P);
  const sy = (y: number) => H - P - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * P);
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
  const f = fmtY ?? ((y: number) => y.toPrecision(3));
  const fx = (x: number) => x.toLocaleString('en', { notation: 'compact' });
  return (
    <figure className="plot" data-testid={testId}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${points.length} points, ${yLabel} from ${f(Math.min(...ys))} to ${f(Math.max(...ys))}`}>
        <line x1={L} y1={H - P} x2={W - P} y2={H - P} className="axis" />
        <line x1={L} y1={P} x2={L} y2={H - P} className="axis" />
        <text x={L} y={H - P + 14} className="tick">{fx(x0)}</text>
        <text x={W - P} y={H - P + 14} className="tick" textAnchor="end">{fx(x1)}</text>
        <text x={L - 4} y={P + 4} className="tick" textAnchor="end">{f(y1)}</text>
        <text x={L - 4} y={H - P} className="tick" textAnchor="end">{f(y0)}</text>
        <text x={4} y={P - 12} className="label">{yLabel}</text>
        <text x={W / 2} y={H - 4} className="label" textAnchor="middle">{xLabel}</text>
        <path d={d} className="line" />
        {points.length <= 40 && points.map((p, i) => <circle key={i} cx={sx(p[0])} cy={sy(p[1])} r={2.5} className="dot" />)}
        {mark && (
          <g>
            <circle cx={sx(mark.at[0])} cy={sy(mark.at[1])} r={5} className="mark" />
            <text x={sx(mark.at[0]) + 8} y={sy(mark.at[1]) - 6} className="label">
              {mark.label}
            </text>
          </g>
        )}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

/** A status badge. */
export function Badge({ text, tone }: { text: string; tone?: 'ok' | 'warn' | 'bad' }) {
  return <span className={`badge ${tone ?? ''}`}>{text}</span>;
}
