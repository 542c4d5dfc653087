// Turns a run's samples into summaries and writes bench/results/<pass>.json, .md and .svg (and,
// for the full pass, bench/README-snippet.md, which the README takes its chart and table from).
// `node bench/report.mjs bench/results/full.json` rewrites the others from a JSON.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const SNIPPET = fileURLToPath(new URL('./README-snippet.md', import.meta.url));
const BASELINE = 'node:http';
const SUPERVISED = 'supervised';
const KB = 1000;
const MB = 1e6;
/**
 * Memory targets: issue 11 (3 kB per idle connection with and without a forced GC, on both Nodes;
 * the master process within 15 MB of a bare node), issue 4 (a worker's idle RSS within 5 MB of it).
 */
const PER_CONNECTION_TARGET = 3 * KB;
const IDLE_OVER_BARE_TARGET = 5 * MB;
const MASTER_OVER_BARE_TARGET = 15 * MB;
/**
 * "No measurable loss" of tsws-master against a plain node:cluster program: a median req/s
 * ratio of at least this. Between rounds the same server moves a few percent on a quiet machine,
 * so anything closer than 5% is within noise.
 */
const WITHIN_NOISE = 0.95;

export function stats(values) {
  const xs = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { median, min: xs[0], max: xs[xs.length - 1], n: xs.length };
}

const good = (samples = []) => samples.filter((s) => !s.error);
const byRound = (samples) => new Map(good(samples).map((s) => [s.round, s]));

/** Ratios of `samples` to `reference` within each round (the noise they share cancels): req/s, and CPU per request (reference over ours). */
function paired(samples, reference) {
  const ref = byRound(reference);
  const both = good(samples).filter((s) => ref.has(s.round));
  return {
    ratio: stats(both.map((s) => s.rps / ref.get(s.round).rps)),
    cpuRatio: stats(both.map((s) => ref.get(s.round).cpuUsPerReq / s.cpuUsPerReq)),
  };
}

/** Failed requests by kind, summed over the samples. */
function sumErrors(samples) {
  const out = {};
  for (const s of samples)
    for (const [k, n] of Object.entries(s.errorsBy ?? {})) if (n != null) out[k] = (out[k] ?? 0) + n;
  return out;
}

/** Adds `summary` to every scenario/server cell and to memory, the master's comparisons, and the target verdicts. */
export function summarise(results) {
  for (const scenario of results.scenarios) {
    const base = scenario.servers[BASELINE]?.samples ?? [];
    for (const cell of Object.values(scenario.servers)) {
      const ok = good(cell.samples);
      // A scenario comparing a server with itself (the access log) pairs each server with its own run without.
      const { ratio, cpuRatio } = paired(cell.samples, scenario.compare ? cell.off : base);
      cell.summary = ok.length
        ? {
            rps: stats(ok.map((s) => s.rps)),
            cpuUsPerReq: stats(ok.map((s) => s.cpuUsPerReq)),
            cpuPct: stats(ok.map((s) => s.cpuPct)),
            toolCpuPct: stats(ok.map((s) => s.toolCpuPct)),
            ratio,
            cpuRatio,
            errors: ok.reduce((n, s) => n + s.errors + s.non2xx, 0),
            errorsBy: sumErrors(ok),
            failures: cell.samples.filter((s) => s.error).map((s) => s.error),
            ...(scenario.compare
              ? {
                  off: {
                    rps: stats(good(cell.off).map((s) => s.rps)),
                    cpuUsPerReq: stats(good(cell.off).map((s) => s.cpuUsPerReq)),
                  },
                }
              : {}),
            ...(scenario.reload
              ? { reloadMs: stats(ok.map((s) => s.reloadMs)), replaced: stats(ok.map((s) => s.replaced)) }
              : {}),
          }
        : null;
    }
  }
  for (const scenario of results.scenarios) {
    for (const [name, cell] of Object.entries(scenario.servers)) {
      if (!cell.summary || isCeiling(name, results) || scenario.compare) continue;
      cell.summary.ofCeilings = Object.fromEntries(
        ceilingNames(results)
          .filter((c) => scenario.servers[c]?.summary)
          .map((c) => [c, paired(cell.samples, scenario.servers[c].samples)]),
      );
    }
  }
  results.versus = versus(results);
  if (results.memory) {
    const m = results.memory;
    m.bareSummary = stats(m.bare);
    for (const cell of Object.values(m.servers)) {
      cell.summary = {
        idle: stats(cell.idle),
        idleLeader: stats(cell.idleLeader ?? []),
        idleWorker: stats(cell.idleWorker ?? []),
        perConnection: stats(cell.perConnection),
        heapPerConnection: stats(cell.heapPerConnection ?? []),
        perConnectionNoGc: stats(cell.perConnectionNoGc ?? []),
      };
    }
  }
  results.targets = targets(results);
  return results;
}

/** tsws-master -w N against a plain node:cluster program and PM2 with N workers, per scenario, paired by round. */
function versus(results) {
  const out = [];
  for (const scenario of results.scenarios) {
    if (scenario.compare || scenario.reload || scenario.unavailable) continue;
    for (const n of [1, 2]) {
      const master = scenario.servers[`tsws-master -w ${n}`];
      if (!master?.summary) continue;
      for (const other of [`node:cluster -w ${n}`, `PM2 cluster -i ${n}`]) {
        const cell = scenario.servers[other];
        if (!cell?.summary) continue;
        out.push({
          scenario: scenario.name,
          title: scenario.title,
          workers: n,
          master: `tsws-master -w ${n}`,
          other,
          ...paired(master.samples, cell.samples),
        });
      }
    }
  }
  return out;
}

const serverInfo = (name, results) => results.servers.find((s) => s.name === name);
const isSubject = (name, results) => serverInfo(name, results)?.subject === true;
const isCeiling = (name, results) => serverInfo(name, results)?.ceiling === true;
/** Node's socket ceiling and nginx's: reference columns, each scenario's last. */
const ceilingNames = (results) => results.servers.filter((s) => s.ceiling).map((s) => s.name);

function targets(results) {
  const out = [];
  for (const scenario of results.scenarios) {
    if (!scenario.target) continue;
    const of = scenario.target.of ?? `${BASELINE} req/s`;
    const want = `${scenario.title}: >= ${scenario.target.ratio}x ${of} (${scenario.target.why})`;
    if (scenario.unavailable) {
      out.push({ target: want, server: null, value: null, met: null, note: `not available: ${scenario.unavailable}` });
      continue;
    }
    for (const [name, cell] of Object.entries(scenario.servers)) {
      const info = serverInfo(name, results);
      // The speed targets are the core's: tsws core and the tsws CLI (the access log: every tsws server that has one).
      if (!info?.subject || !cell.summary?.ratio || (!scenario.compare && (info.group || !info.targets))) continue;
      const r = cell.summary.ratio.median;
      out.push({
        target: want,
        server: name,
        value: `${r.toFixed(2)}x`,
        met: r >= scenario.target.ratio,
        note: scenario.compare ? cpuCost(cell.summary.cpuRatio) : ceilingNote(scenario, results),
      });
    }
  }
  for (const v of results.versus) {
    if (!v.other.startsWith('node:cluster') || !v.ratio) continue;
    out.push({
      target: `${v.title}: tsws-master -w ${v.workers} no slower than node:cluster -w ${v.workers} (within noise, >= ${WITHIN_NOISE}x) (issue 4)`,
      server: v.master,
      value: `${v.ratio.median.toFixed(2)}x`,
      met: v.ratio.median >= WITHIN_NOISE,
      note: `${v.ratio.min.toFixed(2)}–${v.ratio.max.toFixed(2)}; ${cpuNote(v.cpuRatio, 'CPU per request')}`,
    });
  }
  for (const scenario of results.scenarios.filter((s) => s.reload)) {
    for (const [name, cell] of Object.entries(scenario.servers)) {
      if (!isSubject(name, results) || !cell.summary) continue;
      out.push({
        target: `no failed request across a reload under load (docs/master.md)`,
        server: name,
        value: `${cell.summary.errors} failed`,
        met: cell.summary.errors === 0,
        note: `${cell.summary.rps.n} reloads`,
      });
    }
  }
  const m = results.memory;
  if (m) {
    for (const [name, cell] of Object.entries(m.servers)) {
      if (!isSubject(name, results)) continue;
      const per = cell.summary.perConnection?.median;
      const perNoGc = cell.summary.perConnectionNoGc?.median;
      // For a master, the target is about a worker: the process that serves.
      const idle = (cell.summary.idleWorker ?? cell.summary.idle)?.median;
      const who = cell.summary.idleWorker ? `${name}, a worker` : name;
      for (const [value, how] of [
        [per, 'after a forced GC'],
        [perNoGc, 'as it runs (no forced GC)'],
      ]) {
        if (value == null) continue;
        out.push({
          target: `RSS per idle keep-alive connection <= 3 kB, ${how} (issue 11)`,
          server: name,
          value: kB(value),
          met: value <= PER_CONNECTION_TARGET,
        });
      }
      const master = cell.summary.idleLeader?.median;
      if (master != null && m.bareSummary) {
        const over = master - m.bareSummary.median;
        out.push({
          target: `the master process within 15 MB of a bare node process (issue 11)`,
          server: name,
          value: `+${(over / MB).toFixed(1)} MB (${mB(master)})`,
          met: over <= MASTER_OVER_BARE_TARGET,
        });
      }
      if (idle != null && m.bareSummary) {
        const over = idle - m.bareSummary.median;
        out.push({
          target: `idle RSS within 5 MB of a bare node process (issue 4)`,
          server: who,
          value: `${over >= 0 ? '+' : ''}${(over / MB).toFixed(1)} MB`,
          met: over <= IDLE_OVER_BARE_TARGET,
        });
      }
    }
  }
  return out;
}

const cpuNote = (r, what) => (r ? `${what} ${r.median.toFixed(2)}x less` : '');
/** For a server against itself with a feature on: how much more CPU per request the feature costs. */
const cpuCost = (r) => (r ? `CPU per request ${(1 / r.median).toFixed(2)}x with it on` : '');

/** Where the ceilings stood in the same scenario: Node's socket layer, and a C server under the same load. */
function ceilingNote(scenario, results) {
  return ceilingNames(results)
    .map((c) => [c, scenario.servers[c]?.summary?.ratio])
    .filter(([, r]) => r)
    .map(([c, r]) => `${c} ${r.median.toFixed(2)}x`)
    .join(', ');
}

/**
 * On a loaded machine the servers get only part of their core and req/s says more about the
 * neighbours than about the server: say so when node:http's median CPU use is low.
 */
function contentionWarning(results) {
  const use = stats(results.scenarios.map((s) => s.servers[BASELINE]?.summary?.cpuPct?.median));
  if (!use || use.median >= 80) return [];
  return [
    `> **Noisy run**: ${BASELINE} used a median ${use.median.toFixed(0)}% of its core (load average ${results.machine.loadAverage.join(', ')} at the start): other work on the machine, not the servers, set these rates. Trust the CPU-time tables more than req/s.`,
    '',
  ];
}

const toolName = (results) => results.tool.name;
/** What the two reference columns are, for the tables' captions. */
const CEILINGS_NOTE =
  "Two ceilings under the same load: Node's socket ceiling (a bare `net.Socket` answering with a prebuilt response: what Node's socket layer allows, with no HTTP) and nginx's (one worker answering `return 200`: a C server, the most this load tool was seen to drive on one core; on pipelined requests it writes each answer alone and falls below Node's socket ceiling).";
const kB = (bytes) => `${(bytes / KB).toFixed(2)} kB`;
const mB = (bytes) => `${(bytes / MB).toFixed(1)} MB`;
const rate = (x) => (x >= 1e5 ? `${Math.round(x / 1e3)}k` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : `${Math.round(x)}`);
const spread = (st, f = rate) => `${f(st.median)} [${f(st.min)}–${f(st.max)}]`;
const verdict = (met) => (met === null ? 'n/a' : met ? 'met' : '**missed**');
/** A Markdown table; `align`: 'l' or 'r' per column (default: the first left, the rest right). */
const table = (head, rows, align = `l${'r'.repeat(head.length - 1)}`) => [
  `| ${head.join(' | ')} |`,
  `|${head.map((_, i) => (align[i] === 'r' ? '---:' : '---')).join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
];

/** The columns of one table: node:http first, then the group's servers in run order, the ceilings last (single processes only). */
function columns(results, group) {
  const names = results.servers
    .filter((s) => !s.ceiling && s.name !== BASELINE && (s.group ?? null) === group)
    .map((s) => s.name);
  return [BASELINE, ...names, ...(group ? [] : ceilingNames(results))].filter((n) =>
    results.scenarios.some((s) => s.servers[n]?.summary),
  );
}

/** The load scenarios (not the access-log pairs, not reloads) and their req/s and CPU tables for one group of servers. */
function loadTables(results, group) {
  const cols = columns(results, group);
  const shown = results.scenarios.filter(
    (s) =>
      !s.compare && !s.reload && (s.unavailable ? !group : cols.some((n) => n !== BASELINE && s.servers[n]?.summary)),
  );
  if (cols.length < 2 || !shown.length) return [];
  const loadOf = (s) => `${s.connections} conn${s.depth > 1 ? `, depth ${s.depth}` : ''}`;
  const rps = shown.map((s) => {
    if (s.unavailable) return [`${s.title} (${loadOf(s)})`, ...cols.map(() => ''), 'not available (below)'];
    const cells = cols.map((n) => {
      const cell = s.servers[n];
      if (!cell || cell.outside) return '';
      if (!cell.summary) return cell.unavailable ? 'n/a' : cell.samples.length ? 'failed' : '';
      const sum = cell.summary;
      const ratio = n === BASELINE || !sum.ratio ? '' : ` **${sum.ratio.median.toFixed(2)}x**`;
      const err = sum.errors ? ` (${sum.errors} errors)` : '';
      return `${spread(sum.rps)}${ratio}${err}`;
    });
    return [`${s.title} (${loadOf(s)})`, ...cells, group ? '' : s.target ? `≥ ${s.target.ratio}x` : ''];
  });
  const cpu = shown
    .filter((s) => !s.unavailable)
    .map((s) => [
      s.title,
      ...cols.map((n) => {
        const sum = s.servers[n]?.summary;
        if (!sum) return s.servers[n]?.outside ? '' : 'n/a';
        const less = n === BASELINE || !sum.cpuRatio ? '' : `${sum.cpuRatio.median.toFixed(2)}x, `;
        const tool = sum.toolCpuPct ? `; ${toolName(results)} ${sum.toolCpuPct.median.toFixed(0)}%` : '';
        return `${sum.cpuUsPerReq.median.toFixed(1)} (${less}${sum.cpuPct.median.toFixed(0)}%${tool})`;
      }),
    ]);
  const title = group ? '### Several processes: tsws-master, a plain node:cluster program, PM2' : '### One process';
  const about = group
    ? 'Every process of a server runs on the server core, so at two workers they share it: these tables show what the supervision and the hand-over of connections cost, not a speed-up.'
    : '';
  return [
    title,
    '',
    ...(about ? [about, ''] : []),
    `**Requests per second**: median [min–max] over the rounds; the ratio is to ${BASELINE} in the same round (median).${group ? '' : ` ${CEILINGS_NOTE}`}`,
    '',
    ...table(['scenario', ...cols, ...(group ? [''] : ['target'])], rps),
    '',
    `**Server CPU time per request** (µs, median; lower is better): utime+stime of the server's processes over the measured window, divided by requests. In brackets: how many times less than ${BASELINE}, the server's CPU use and the load tool's (${toolName(results)} on its own core): near 100% on the server's side means the server was the limit, on the tool's side the tool.`,
    '',
    ...table(['scenario', ...cols], cpu),
    '',
  ];
}

/** tsws against the two ceilings, paired by round: what is left to Node's socket layer, and to C. */
function ceilingsTable(results) {
  const names = ceilingNames(results);
  const subjects = results.servers.filter((s) => s.targets).map((s) => s.name);
  const shown = results.scenarios.filter(
    (s) => !s.compare && !s.reload && !s.unavailable && subjects.some((n) => s.servers[n]?.summary?.ofCeilings),
  );
  if (!names.length || !shown.length) return [];
  const head = ['scenario', ...subjects.flatMap((n) => names.map((c) => `${n} / ${c}`))];
  const rows = shown.map((s) => [
    s.title,
    ...subjects.flatMap((n) =>
      names.map((c) => {
        const r = s.servers[n]?.summary?.ofCeilings?.[c];
        return r?.ratio ? `${r.ratio.median.toFixed(2)} (CPU ${r.cpuRatio.median.toFixed(2)})` : '';
      }),
    ),
  ]);
  return [
    '### tsws against the ceilings',
    '',
    "tsws's req/s as a fraction of each ceiling's (above) in the same round (median); in brackets, the ceiling's CPU time per request over tsws's (1.00: as cheap as the ceiling).",
    '',
    ...table(head, rows),
    '',
  ];
}

function versusTable(results) {
  if (!results.versus.length) return [];
  const rows = results.versus.map((v) => [
    `${v.title}, ${v.workers} worker${v.workers > 1 ? 's' : ''}`,
    v.other,
    v.ratio ? spread(v.ratio, (x) => `${x.toFixed(2)}x`) : 'n/a',
    v.cpuRatio ? `${v.cpuRatio.median.toFixed(2)}x` : 'n/a',
  ]);
  return [
    "**tsws-master against the same workers under no supervision and under PM2**: tsws-master's req/s over the other's, paired by round (median [min–max]); CPU per request, the other's over tsws-master's (above 1: the master costs less).",
    '',
    ...table(['scenario', 'against', 'req/s ratio', 'CPU ratio'], rows, 'llrr'),
    '',
  ];
}

function accessLogTable(results) {
  const out = [];
  for (const s of results.scenarios.filter((x) => x.compare === 'accessLog' && !x.unavailable)) {
    const rows = Object.entries(s.servers)
      .filter(([, c]) => c.summary)
      .map(([name, c]) => {
        const sum = c.summary;
        return [
          name,
          sum.off.rps ? spread(sum.off.rps) : 'failed',
          spread(sum.rps),
          sum.ratio ? `**${sum.ratio.median.toFixed(2)}x**` : 'n/a',
          sum.off.cpuUsPerReq ? sum.off.cpuUsPerReq.median.toFixed(1) : '',
          sum.cpuUsPerReq.median.toFixed(1),
          sum.cpuRatio ? `${(1 / sum.cpuRatio.median).toFixed(2)}x` : '',
        ];
      });
    out.push(
      '### The access log',
      '',
      `${s.title} (${s.connections} connections): each server runs twice per round, its access log off and on (written to a file in a temp dir), and the ratio is on over off within the round (median). tsws writes its JSON lines (buffered off the request path); node:http appends a combined-log line per response through a write stream; fastify logs each request and response through pino. Target for tsws: at most 15% slower (≥ 0.85x).`,
      '',
      ...table(['server', 'log off req/s', 'log on req/s', 'on / off', 'CPU µs/req off', 'on', 'CPU on / off'], rows),
      '',
    );
  }
  return out;
}

function reloadTable(results) {
  const out = [];
  const plain = results.scenarios.find((s) => s.name === 'hello-keepalive');
  for (const s of results.scenarios.filter((x) => x.reload && !x.unavailable)) {
    const rows = Object.entries(s.servers)
      .filter(([, c]) => c.summary || (c.samples.length && !c.outside))
      .map(([name, c]) => {
        const sum = c.summary;
        if (!sum) return [name, 'failed', '', '', '', '', ''];
        const kinds = Object.entries(sum.errorsBy)
          .filter(([, n]) => n)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ');
        const without = plain?.servers[name]?.summary?.rps;
        return [
          name,
          spread(sum.rps),
          without ? rate(without.median) : '',
          `${sum.errors}${kinds ? ` (${kinds})` : ''}`,
          sum.reloadMs ? `${(sum.reloadMs.median / 1000).toFixed(1)} s` : '',
          sum.replaced ? String(sum.replaced.median) : '',
          String(sum.rps.n),
        ];
      });
    out.push(
      '### Reloads under load',
      '',
      `${s.title}: ${s.connections} keep-alive connections for ${s.durationS} s; a quarter of the way in, the server reloads (tsws-master: \`kill -HUP\`; PM2: \`pm2 reload\`; the node:cluster program: its own rolling restart on SIGHUP) and the runner waits for the reload to finish. Failed requests are everything the load tool counted: connect, read (a reset, or a connection closed before its response was whole), write and timeout errors, and non-2xx answers, summed over the rounds. "Without a reload": the same server's median in the hello-world keep-alive scenario.`,
      '',
      ...table(
        [
          'server',
          'req/s across the reload',
          'without a reload',
          'failed requests',
          'reload took',
          'new workers',
          'reloads',
        ],
        rows,
      ),
      '',
    );
  }
  return out;
}

function memoryTable(results) {
  const m = results.memory;
  if (!m) return [];
  const cells = Object.entries(m.servers).filter(
    ([, c]) => !c.unavailable && (c.idle.length || c.perConnection.length || c.errors.length),
  );
  const withWorkers = cells.some(([, c]) => c.summary.idleWorker);
  const perConn = m.rounds > 0;
  const head = [
    'server',
    'idle RSS',
    ...(withWorkers ? ['its processes'] : []),
    'over bare node',
    ...(perConn
      ? [
          'RSS per idle connection, after a GC [min–max]',
          'JS heap per idle connection',
          'RSS per idle connection, no forced GC [min–max]',
        ]
      : []),
  ];
  const rows = [[`bare \`node -e\`, one listening socket`, mB(m.bareSummary.median), ...head.slice(2).map(() => '')]];
  for (const [name, cell] of cells) {
    const { idle, idleLeader, idleWorker, perConnection: per, heapPerConnection: heap } = cell.summary;
    const noGc = cell.summary.perConnectionNoGc;
    const range = (x) => `${kB(x.median)} [${(x.min / KB).toFixed(2)}–${(x.max / KB).toFixed(2)}]`;
    const one = idleWorker ?? idle;
    const row = [name, idle ? mB(idle.median) : 'failed'];
    if (withWorkers) row.push(idleWorker ? `master ${mB(idleLeader.median)}, a worker ${mB(idleWorker.median)}` : '');
    row.push(one ? `+${((one.median - m.bareSummary.median) / MB).toFixed(1)} MB` : '');
    if (perConn)
      row.push(
        per ? range(per) : cell.errors.length ? 'failed' : '',
        heap ? kB(heap.median) : '',
        noGc ? range(noGc) : '',
      );
    rows.push(row);
  }
  const perText = perConn
    ? ` Per idle keep-alive connection (median of ${m.rounds}): the server's RSS (and live JS heap) with ${m.connections.toLocaleString('en')} connections open (one request each) minus before, over ${m.connections.toLocaleString('en')}, each read once RSS is steady: after a full GC, with V8's young generation capped (\`--max-semi-space-size=1\`; bench/README.md says why), and again as users run it (no preload, no forced GC). 1 kB = 1000 bytes.`
    : ' RSS per connection is measured by the full pass and `pnpm bench --memory`.';
  return [
    '### Memory',
    '',
    `Idle RSS: the whole server ${SETTLE_NOTE}${withWorkers ? '; for a master, its processes apart ("over bare node" is then a worker\'s)' : ''}.${perText}`,
    '',
    ...table(head, rows),
    '',
  ];
}
const SETTLE_NOTE = '0.3 s after it listens (every worker listening), no preload';

function targetTable(results) {
  if (!results.targets.length) return [];
  return [
    '### Targets (reported, never asserted)',
    '',
    ...table(
      ['target', 'server', 'measured', ''],
      results.targets.map((t) => [
        t.target,
        t.server ?? '',
        t.value ?? '',
        `${verdict(t.met)}${t.note ? ` (${t.note})` : ''}`,
      ]),
      'llrl',
    ),
    '',
  ];
}

function header(results) {
  const { machine, tool, settings } = results;
  const load = results.scenarios.length
    ? `${tool.version} (${tool.why}) · server on core ${settings.serverCpu}, load on core ${settings.clientCpu} · ${results.pass} pass: ${settings.rounds} rounds of ${settings.durationS} s after ${settings.warmS} s warm-up`
    : `server on core ${settings.serverCpu}, clients on core ${settings.clientCpu} · ${results.pass} pass`;
  return `Node ${machine.node} · ${machine.cpu}, ${machine.cores} cores · load average ${machine.loadAverage.join(', ')} at the start · ${load} · ${results.startedAt.slice(0, 10)}`;
}

export function markdown(results) {
  const lines = [header(results), '', ...contentionWarning(results)];
  lines.push(
    ...loadTables(results, null),
    ...ceilingsTable(results),
    ...loadTables(results, SUPERVISED),
    ...versusTable(results),
    ...accessLogTable(results),
    ...reloadTable(results),
    ...memoryTable(results),
    ...targetTable(results),
  );
  lines.push('**Servers**:', '');
  for (const s of results.servers)
    lines.push(`- ${s.name}: ${s.unavailable ? `not available (${s.unavailable})` : s.about}`);
  const skipped = results.scenarios.filter((s) => s.unavailable);
  if (skipped.length) {
    lines.push('', '**Scenarios not available here**:', '');
    for (const s of skipped) lines.push(`- ${s.title}: ${s.unavailable}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The README's benchmark section: the chart, the single-process table, the targets, and how it
 * was measured. Written by the full pass; the lead pastes it into README.md.
 */
export function snippet(results) {
  // Ratios only (node:http's own rate as the reference): narrow enough for a README.
  const cols = columns(results, null);
  const rows = results.scenarios
    .filter((s) => !s.compare && !s.reload && !s.unavailable)
    .map((s) => [
      s.title,
      ...cols.map((n) => {
        const sum = s.servers[n]?.summary;
        if (!sum) return '';
        return n === BASELINE ? `${rate(sum.rps.median)}/s` : sum.ratio ? `${sum.ratio.median.toFixed(2)}x` : '';
      }),
      s.target ? `≥ ${s.target.ratio}x` : '',
    ]);
  return `${[
    '<!-- Generated by `pnpm bench --full` (bench/report.mjs): rerun it rather than edit. -->',
    '## Benchmarks',
    '',
    `![Requests per second relative to node:http](bench/results/${fileName(results)}.svg)`,
    '',
    header(results),
    '',
    ...contentionWarning(results),
    `Requests per second relative to ${BASELINE} (median of the per-round ratios; ${BASELINE}'s own rate in its column):`,
    '',
    ...table(['scenario', ...cols, 'target'], rows, `l${'r'.repeat(cols.length)}l`),
    '',
    ...targetTable(results),
    `**How it is measured.** Each server runs pinned to one core and the load generator (${results.tool.version}, one thread) to the other, on 127.0.0.1. For each scenario every server is started fresh, its answer is checked (status, content type, body length), and it is warmed up; then ${results.settings.rounds} rounds measure every server once each, in an order rotated every round, and the figures are medians. A ratio to node:http is taken within each round, so the noise both saw cancels. Beside req/s we report the server's own CPU time per request (utime+stime of all its processes, from /proc), which moves far less than req/s on a shared machine. Two ceilings take the same load: Node's socket ceiling, a bare \`net.Socket\` writing a prebuilt answer (what Node's socket layer allows, with no HTTP at all), and nginx with one worker answering \`return 200\` (a C server: what this load tool can drive on one core). Multi-process servers keep all their processes on the server core, so they show what supervision costs, not a speed-up. Memory per connection is read with 5,000 idle keep-alive connections open, after a forced GC and once RSS is steady. Every figure, every server and the method in full: [bench/results/${fileName(results)}.md](bench/results/${fileName(results)}.md) and [bench/README.md](bench/README.md); \`pnpm bench\` (quick, under 3 minutes) or \`pnpm bench --full\` reproduces them.`,
  ].join('\n')}\n`;
}

/** The ceilings in grays, the servers in colours. */
const CEILING_GRAYS = ['#dadce0', '#9aa0a6'];
// Distinct enough for the 14 series of a full pass; no gray (the 1x line and the ceilings are gray).
const COLORS = [
  '#1a73e8',
  '#e8710a',
  '#188038',
  '#a142f4',
  '#d01884',
  '#12b5cb',
  '#f9ab00',
  '#8d6e63',
  '#0d47a1',
  '#c62828',
  '#2e7d32',
  '#6a1b9a',
  '#ad1457',
  '#00838f',
];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal grouped bar chart of each server's ratio to node:http, one group per scenario. */
export function svg(results) {
  // node:http is the 1x line, not a bar; the access-log pairs and reloads are not ratios to it.
  const loads = results.scenarios.filter((s) => !s.unavailable && !s.compare && !s.reload);
  // The ceilings last in each group, after the multi-process servers.
  const ceilings = ceilingNames(results);
  const order = [
    ...columns(results, null).filter((n) => !ceilings.includes(n)),
    ...columns(results, SUPERVISED),
    ...ceilings,
  ];
  const names = order.filter(
    (n, i) => n !== BASELINE && order.indexOf(n) === i && loads.some((s) => s.servers[n]?.summary?.ratio),
  );
  const shown = loads.filter((s) => names.some((n) => s.servers[n]?.summary?.ratio));
  // Each scenario gets a bar for each server it ran, no empty slots.
  const barsOf = (s) => names.filter((n) => s.servers[n]?.summary?.ratio);
  let color = 0;
  const fill = Object.fromEntries(
    names.map((n) => [
      n,
      ceilings.includes(n)
        ? CEILING_GRAYS[ceilings.indexOf(n) % CEILING_GRAYS.length]
        : COLORS[color++ % COLORS.length],
    ]),
  );
  const BAR = 14;
  const GAP = 14;
  const LEFT = 230;
  const PLOT = 480;
  const width = LEFT + PLOT + 130; // room for "7.07x (max 12.3x)" past the edge
  // The legend: a swatch per series, wrapping onto as many rows as it needs.
  const items = [
    {
      label: `${BASELINE} = 1x`,
      mark: (lx, y) =>
        `<line x1="${lx + 6}" y1="${y}" x2="${lx + 6}" y2="${y + 12}" stroke="#5f6368" stroke-width="2"/>`,
    },
    ...names.map((n) => ({
      label: n,
      mark: (lx, y) => `<rect x="${lx}" y="${y}" width="12" height="12" fill="${fill[n]}"/>`,
    })),
    {
      label: 'target',
      mark: (lx, y) =>
        `<line x1="${lx + 6}" y1="${y}" x2="${lx + 6}" y2="${y + 12}" stroke="#d93025" stroke-width="2"/>`,
    },
  ];
  const legend = [];
  let lx = 10;
  let ly = 30;
  for (const item of items) {
    const w = 26 + item.label.length * 6.8;
    if (lx + w > width - 10) {
      lx = 10;
      ly += 18;
    }
    legend.push(item.mark(lx, ly), `<text x="${lx + 16}" y="${ly + 10}">${esc(item.label)}</text>`);
    lx += w;
  }
  const TOP = ly + 30;
  const offsets = [];
  let y = TOP;
  for (const s of shown) {
    offsets.push(y);
    y += barsOf(s).length * BAR + GAP;
  }
  const height = y + 46;
  const machine = results.machine;
  // The scale covers every median and target; longer whiskers are cut at the edge.
  const top = Math.max(
    2,
    ...shown.flatMap((s) => names.map((n) => s.servers[n]?.summary?.ratio?.median ?? 0)),
    ...shown.map((s) => s.target?.ratio ?? 0),
  );
  const xmax = Math.ceil(top * 1.1);
  const step = xmax > 10 ? 2 : 1;
  const x = (v) => LEFT + (v / xmax) * PLOT;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">Requests per second relative to ${BASELINE} (median of ${results.settings.rounds} rounds, ${esc(results.tool.version)})</text>`,
    ...legend,
    `<text x="10" y="${height - 8}" font-size="10" fill="#5f6368">${esc(`${machine.node}, ${machine.cpu} x${machine.cores}`)}; whiskers: min–max</text>`,
  ];
  for (let v = 0; v <= xmax; v += step) {
    out.push(
      `<line x1="${x(v)}" y1="${TOP - 6}" x2="${x(v)}" y2="${height - 40}" stroke="${v === 1 ? '#5f6368' : '#eee'}"/>`,
      `<text x="${x(v)}" y="${height - 26}" text-anchor="middle">${v}x</text>`,
    );
  }
  shown.forEach((s, i) => {
    const y0 = offsets[i];
    const bars = barsOf(s);
    out.push(`<text x="${LEFT - 8}" y="${y0 + (bars.length * BAR) / 2 + 4}" text-anchor="end">${esc(s.title)}</text>`);
    bars.forEach((n, j) => {
      const r = s.servers[n].summary.ratio;
      const y = y0 + j * BAR;
      out.push(
        `<rect x="${LEFT}" y="${y + 1}" width="${Math.max(1, x(r.median) - LEFT)}" height="${BAR - 2}" fill="${fill[n]}"><title>${esc(n)}: ${r.median.toFixed(2)}x (${r.min.toFixed(2)}–${r.max.toFixed(2)})</title></rect>`,
        `<line x1="${x(r.min)}" y1="${y + BAR / 2}" x2="${x(Math.min(r.max, xmax))}" y2="${y + BAR / 2}" stroke="#202124" stroke-opacity="0.6"/>`,
        `<text x="${x(Math.min(Math.max(r.median, r.max), xmax)) + 4}" y="${y + BAR - 3}" font-size="10">${r.median.toFixed(2)}x${r.max > xmax ? ` (max ${r.max.toFixed(1)}x)` : ''}</text>`,
      );
    });
    if (s.target)
      out.push(
        `<line x1="${x(s.target.ratio)}" y1="${y0 - 2}" x2="${x(s.target.ratio)}" y2="${y0 + bars.length * BAR + 2}" stroke="#d93025" stroke-width="2"/>`,
      );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** A pass's files are kept apart by the Node it ran on: `quick-node20`, `full-node24` (`--name` replaces the pass). */
const fileName = (results) => `${results.name ?? results.pass}-node${/^v?(\d+)/.exec(results.machine.node)?.[1]}`;

/**
 * Results written before the two ceilings had one server named 'ceiling' (Node's socket
 * ceiling, then mislabelled the tool's): name it as it is now, so old passes redraw.
 */
function upgrade(results) {
  const old = results.servers.find((s) => s.name === 'ceiling' && s.ceiling === undefined);
  if (!old) return results;
  const name = 'Node socket ceiling';
  Object.assign(old, { name, ceiling: true });
  for (const scenario of results.scenarios) {
    if (!scenario.servers.ceiling) continue;
    scenario.servers[name] = scenario.servers.ceiling;
    delete scenario.servers.ceiling;
  }
  return results;
}

/** Summarises `results` and writes the three files (and the README snippet for the full pass); returns their paths. */
export function writeReport(results) {
  summarise(results);
  const base = `${RESULTS}${fileName(results)}`;
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(results));
  const files = [`${base}.json`, `${base}.md`];
  // A chart of ratios needs load scenarios (the memory pass has none).
  if (results.scenarios.length) {
    writeFileSync(`${base}.svg`, svg(results));
    files.push(`${base}.svg`);
  }
  if (results.pass === 'full') {
    writeFileSync(SNIPPET, snippet(results));
    files.push(SNIPPET);
  }
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/report.mjs bench/results/<pass>-node<major>.json');
    process.exit(2);
  }
  console.log(writeReport(upgrade(JSON.parse(readFileSync(file, 'utf8')))).join('\n'));
}
