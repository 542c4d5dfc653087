// Request metrics: OpenTelemetry's HTTP server histograms (request duration, request and
// response body sizes) by method and status class. A worker counts into fixed arrays on the
// request path (an index, a short bucket search, a few increments: no allocation, no labels) and
// sends what changed since its last heartbeat; the master adds those increments to totals it owns,
// so counts survive a worker's death or a reload, and nothing is scraped from a worker.

/** OpenTelemetry's `http.request.method` values; any other method counts as `_OTHER`. */
export const METHODS = ['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', '_OTHER'];
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];
/** One series per method and status class. */
export const SERIES = METHODS.length * STATUS_CLASSES.length;

/** Seconds: OpenTelemetry's advice for `http.server.request.duration`. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Bytes: OpenTelemetry advises none for body sizes; powers of 4 from 64 B to 64 MiB (0 for "no body"). */
export const SIZE_BUCKETS = [
  0, 64, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864,
];

/**
 * A series' increments, flat: `[series, count, durationSum, requestBytesSum, responseBytesSum,
 * ...durationBuckets, ...requestSizeBuckets, ...responseSizeBuckets]`, each bucket list with one
 * more entry than its bounds (above the last). Buckets are not cumulative here.
 */
export type SeriesDelta = number[];

const D = DURATION_BUCKETS.length + 1;
const S = SIZE_BUCKETS.length + 1;
/** Per series: count, three sums, then the buckets. */
const ROW = 4 + D + 2 * S;

function methodIndex(method: string): number {
  switch (method) {
    case 'GET':
      return 2;
    case 'POST':
      return 6;
    case 'HEAD':
      return 3;
    case 'PUT':
      return 7;
    case 'DELETE':
      return 1;
    case 'PATCH':
      return 5;
    case 'OPTIONS':
      return 4;
    case 'CONNECT':
      return 0;
    case 'TRACE':
      return 8;
    default:
      return 9;
  }
}

function bucket(bounds: number[], value: number): number {
  let i = 0;
  while (i < bounds.length && value > bounds[i]!) i++;
  return i;
}

/** Which series a method and status fall in. */
export function seriesOf(method: string, status: number): number {
  const cls = Math.min(4, Math.max(0, Math.floor(status / 100) - 1));
  return methodIndex(method) * STATUS_CLASSES.length + cls;
}

/** Fixed arrays of counts by series, added to on every observation. */
class Table {
  readonly rows = new Float64Array(SERIES * ROW);

  add(series: number, seconds: number, requestBytes: number, responseBytes: number): void {
    const rows = this.rows;
    const at = series * ROW;
    rows[at]!++;
    rows[at + 1]! += seconds;
    rows[at + 2]! += requestBytes;
    rows[at + 3]! += responseBytes;
    rows[at + 4 + bucket(DURATION_BUCKETS, seconds)]!++;
    rows[at + 4 + D + bucket(SIZE_BUCKETS, requestBytes)]!++;
    rows[at + 4 + D + S + bucket(SIZE_BUCKETS, responseBytes)]!++;
  }
}

/** The worker's side: counts since the last heartbeat. */
export class RequestMetrics {
  private readonly table = new Table();
  private touched = false;

  /** One response, complete or abandoned. */
  observe(method: string, status: number, seconds: number, requestBytes: number, responseBytes: number): void {
    this.table.add(seriesOf(method, status), seconds, requestBytes, responseBytes);
    this.touched = true;
  }

  /** The increments since the last take(), one row per series that moved; null when none did. */
  take(): SeriesDelta[] | null {
    if (!this.touched) return null;
    const rows = this.table.rows;
    const out: SeriesDelta[] = [];
    for (let s = 0; s < SERIES; s++) {
      if (rows[s * ROW] === 0) continue;
      out.push([s, ...rows.subarray(s * ROW, (s + 1) * ROW)]);
    }
    rows.fill(0);
    this.touched = false;
    return out;
  }
}

/** A series' totals, as the master reads them. */
export interface SeriesTotals {
  method: string;
  statusClass: string;
  count: number;
  durationSum: number;
  requestBytesSum: number;
  responseBytesSum: number;
  /** Not cumulative; one more entry than the bounds. */
  durationBuckets: number[];
  requestSizeBuckets: number[];
  responseSizeBuckets: number[];
}

/** The master's side: totals since it started, from every worker that ever reported. */
export class RequestTotals {
  private readonly table = new Table();

  /** Adds a heartbeat's increments; rows that do not fit the layout are ignored (a worker of another version). */
  add(deltas: unknown): void {
    if (!Array.isArray(deltas)) return;
    const rows = this.table.rows;
    for (const delta of deltas) {
      if (!Array.isArray(delta) || delta.length !== ROW + 1) continue;
      const series = delta[0];
      if (!Number.isInteger(series) || series < 0 || series >= SERIES) continue;
      if (!delta.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) continue;
      const at = (series as number) * ROW;
      for (let i = 0; i < ROW; i++) rows[at + i]! += delta[i + 1] as number;
    }
  }

  /** Every series with at least one request. */
  series(): SeriesTotals[] {
    const rows = this.table.rows;
    const out: SeriesTotals[] = [];
    for (let s = 0; s < SERIES; s++) {
      const at = s * ROW;
      if (rows[at] === 0) continue;
      const list = (from: number, n: number) => Array.from(rows.subarray(at + from, at + from + n));
      out.push({
        method: METHODS[Math.floor(s / STATUS_CLASSES.length)]!,
        statusClass: STATUS_CLASSES[s % STATUS_CLASSES.length]!,
        count: rows[at]!,
        durationSum: rows[at + 1]!,
        requestBytesSum: rows[at + 2]!,
        responseBytesSum: rows[at + 3]!,
        durationBuckets: list(4, D),
        requestSizeBuckets: list(4 + D, S),
        responseSizeBuckets: list(4 + D + S, S),
      });
    }
    return out;
  }
}
