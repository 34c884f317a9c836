// Small pieces every view uses.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { CONFIDENCE_BANDS, num, statusTone } from "../format";
import type { ConfidenceLevel, ConfidenceReason } from "../types";

export function Badge({ tone, children }: { tone: string; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  return <Badge tone={statusTone(status)}>{status.replace("_", " ").toLowerCase()}</Badge>;
}

/** The score in the guide's band (the server's `confidenceLevel`); `compact` puts the band's name under the score,
 * for table cells. */
export function ConfidenceBadge({
  confidence,
  level,
  compact = false,
}: {
  confidence: number;
  level: ConfidenceLevel;
  compact?: boolean;
}) {
  const band = CONFIDENCE_BANDS[level];
  if (compact) {
    return (
      <span class="confidence" title={band.advice}>
        <span class={`badge badge-${band.tone}`}>{num(confidence, 2)}</span>
        <span class={`band band-${band.tone}`}>{band.label}</span>
      </span>
    );
  }
  return (
    <span class={`badge badge-${band.tone}`} title={band.advice}>
      {num(confidence, 2)} · {band.label}
    </span>
  );
}

/** What lowered a confidence, worst first as the server orders them, each with the run that would raise it. */
export function ConfidenceReasons({ reasons }: { reasons: ConfidenceReason[] }) {
  if (!reasons.length) return null;
  return (
    <div class="confidence-reasons" data-testid="confidence-reasons">
      <h3>What lowers the confidence</h3>
      <ul>
        {reasons.map((reason) => (
          <li key={reason.kind}>
            <span class="reason-factor" title="what this multiplies the confidence by">
              ×{num(reason.factor, 2)}
            </span>{" "}
            {reason.message}. <span class="muted">To raise it: {reason.measure}.</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function ErrorBox({ children }: { children: ComponentChildren }) {
  return (
    <div class="notice notice-bad" role="alert">
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A view's heading, focused when the view opens so that keyboard and screen-reader users start there. */
export function Heading({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

/** Server-written prose (warnings, notes) with its `code` spans shown as code. */
export function Prose({ text }: { text: string }) {
  return <>{text.split("`").map((part, index) => (index % 2 === 1 ? <code key={index}>{part}</code> : part))}</>;
}

/** Definition list of label/value pairs. */
export function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Previous and Next over a connection. `cursors` holds the `after` of each page opened so far, the first null. */
export function Pager({
  label,
  summary,
  cursors,
  setCursors,
  hasNextPage,
  endCursor,
}: {
  label: string;
  summary: ComponentChildren;
  cursors: (string | null)[];
  setCursors: (cursors: (string | null)[]) => void;
  hasNextPage: boolean;
  endCursor: string | null;
}) {
  return (
    <nav class="pager" aria-label={label}>
      <span>{summary}</span>
      <button
        type="button"
        class="secondary"
        disabled={cursors.length === 1}
        onClick={() => setCursors(cursors.slice(0, -1))}
      >
        Previous
      </button>
      <button
        type="button"
        class="secondary"
        disabled={!hasNextPage}
        onClick={() => setCursors([...cursors, endCursor])}
      >
        Next
      </button>
    </nav>
  );
}

/** What changed since a stored answer was made (`staleReasons`), and the guide's advice; nothing when fresh. */
export function StaleNotice({ title, reasons, advice }: { title: string; reasons: string[]; advice: string }) {
  if (reasons.length === 0) return null;
  return (
    <div class="notice notice-warn" role="note" data-testid="stale">
      <strong>{title}</strong>
      <ul>
        {reasons.map((reason) => (
          <li key={reason}>
            <Prose text={reason} />
          </li>
        ))}
      </ul>
      {advice}
    </div>
  );
}
