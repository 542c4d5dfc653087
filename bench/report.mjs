// Turns a run's samples into summaries and writes bench/results/<pass>.json, .md and .svg.
// `node bench/report.mjs bench/results/quick.json` rewrites the Markdown and SVG from a JSON.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const BASELINE = 'node:http';
const CEILING = 'ceiling';
const KB = 1000;
const MB = 1e6;
/** Memory targets: issue 4 (4 kB per idle connection; idle RSS within 5 MB of a bare node), issue 2 (6 kB). */
const PER_CONNECTION_TARGET = 4 * KB;
const PER_CONNECTION_ISSUE_2 = 6 * KB;
const IDLE_OVER_BARE_TARGET = 5 * MB;

export function stats(values) {
  const xs = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { median, min: xs[0], max: xs[xs.length - 1], n: xs.length };
}

/** Adds `summary` to every scenario/server cell and to memory, and the target verdicts. */
export function summarise(results) {
  for (const scenario of results.scenarios) {
    const base = scenario.servers[BASELINE]?.samples ?? [];
    const baseByRound = new Map(base.filter((s) => !s.error).map((s) => [s.round, s]));
    for (const cell of Object.values(scenario.servers)) {
      const ok = cell.samples.filter((s) => !s.error);
      // Ratios pair each sample with node:http's from the same round: the noise they share cancels.
      const paired = ok.filter((s) => baseByRound.has(s.round));
      cell.summary = ok.length
        ? {
            rps: stats(ok.map((s) => s.rps)),
            cpuUsPerReq: stats(ok.map((s) => s.cpuUsPerReq)),
            cpuPct: stats(ok.map((s) => s.cpuPct)),
            ratio: stats(paired.map((s) => s.rps / baseByRound.get(s.round).rps)),
            cpuRatio: stats(paired.map((s) => baseByRound.get(s.round).cpuUsPerReq / s.cpuUsPerReq)),
            errors: ok.reduce((n, s) => n + s.errors + s.non2xx, 0),
            failures: cell.samples.filter((s) => s.error).map((s) => s.error),
          }
        : null;
    }
  }
  if (results.memory) {
    const m = results.memory;
    m.bareSummary = stats(m.bare);
    for (const cell of Object.values(m.servers)) {
      cell.summary = { idle: stats(cell.idle), perConnection: stats(cell.perConnection), heapPerConnection: stats(cell.heapPerConnection ?? []) };
    }
  }
  results.targets = targets(results);
  return results;
}

function targets(results) {
  const out = [];
  for (const scenario of results.scenarios) {
    if (!scenario.target) continue;
    const want = `${scenario.title}: >= ${scenario.target.ratio}x ${BASELINE} req/s (${scenario.target.why})`;
    if (scenario.unavailable) {
      out.push({ target: want, server: null, value: null, met: null, note: `not available: ${scenario.unavailable}` });
      continue;
    }
    for (const [name, cell] of Object.entries(scenario.servers)) {
      if (!isSubject(name, results) || !cell.summary?.ratio) continue;
      const r = cell.summary.ratio.median;
      out.push({ target: want, server: name, value: `${r.toFixed(2)}x`, met: r >= scenario.target.ratio, note: ceilingNote(scenario) });
    }
  }
  const m = results.memory;
  if (m) {
    for (const [name, cell] of Object.entries(m.servers)) {
      if (!isSubject(name, results)) continue;
      const per = cell.summary.perConnection?.median;
      const idle = cell.summary.idle?.median;
      if (per != null) {
        out.push({ target: `RSS per idle keep-alive connection <= 4 kB (issue 4)`, server: name, value: kB(per), met: per <= PER_CONNECTION_TARGET });
        out.push({ target: `RSS per idle keep-alive connection < 6 kB (issue 2)`, server: name, value: kB(per), met: per < PER_CONNECTION_ISSUE_2 });
      }
      if (idle != null && m.bareSummary) {
        const over = idle - m.bareSummary.median;
        out.push({ target: `idle RSS within 5 MB of a bare node process (issue 4)`, server: name, value: `+${(over / MB).toFixed(1)} MB`, met: over <= IDLE_OVER_BARE_TARGET });
      }
    }
  }
  return out;
}

function isSubject(name, results) {
  return results.servers.find((s) => s.name === name)?.subject === true;
}

/** What the tool's own ceiling allowed, when it caps the ratio a server could show. */
function ceilingNote(scenario) {
  const c = scenario.servers[CEILING]?.summary?.ratio;
  return c ? `tool ceiling ${c.median.toFixed(2)}x` : '';
}

/**
 * On a loaded machine the servers get only part of their core and req/s says more about the
 * neighbours than about the server: say so when node:http's median CPU use is low.
 */
function contentionWarning(results) {
  const use = stats(results.scenarios.map((s) => s.servers[BASELINE]?.summary?.cpuPct?.median));
  if (!use || use.median >= 80) return [];
  return [
    `> **Noisy run**: ${BASELINE} used a median ${use.median.toFixed(0)}% of its core (load average ${results.machine.loadAverage.join(', ')} at the start): other work on the machine, not the servers, set these rates. Trust the CPU-time table below more than req/s.`,
    '',
  ];
}

const kB = (bytes) => `${(bytes / KB).toFixed(2)} kB`;
const rate = (x) => (x >= 1e5 ? `${Math.round(x / 1e3)}k` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : `${Math.round(x)}`);
const verdict = (met) => (met === null ? 'n/a' : met ? 'met' : '**missed**');

function columns(results) {
  // node:http first, the servers under test next, the ceiling last.
  const names = results.servers.map((s) => s.name).filter((n) => n !== CEILING);
  return [BASELINE, ...names.filter((n) => n !== BASELINE), CEILING];
}

export function markdown(results) {
  const { machine, tool, settings } = results;
  const cols = columns(results).filter((n) => results.scenarios.some((s) => s.servers[n]?.summary));
  const label = (n) => (n === CEILING ? 'tool ceiling' : n);
  const lines = [];
  lines.push(
    `Node ${machine.node} · ${machine.cpu}, ${machine.cores} cores · ${tool.version} (${tool.why}) · server on core ${settings.serverCpu}, load on core ${settings.clientCpu} · ${results.pass} pass: ${settings.rounds} rounds of ${settings.durationS} s after ${settings.warmS} s warm-up · ${results.startedAt.slice(0, 10)}`,
    '',
    `**Requests per second**: median [min–max] over the rounds; the ratio is to ${BASELINE} in the same round (median). "tool ceiling" is the load tool against a trivial responder: no server can show more.`,
    '',
    ...contentionWarning(results),
    `| scenario | ${cols.map(label).join(' | ')} | target |`,
    `|---|${cols.map(() => '---:').join('|')}|---|`,
  );
  for (const s of results.scenarios) {
    const load = `${s.connections} conn${s.depth > 1 ? `, depth ${s.depth}` : ''}`;
    if (s.unavailable) {
      lines.push(`| ${s.title} (${load}) | ${cols.map(() => '').join(' | ')} | not available (below) |`);
      continue;
    }
    const cells = cols.map((n) => {
      const sum = s.servers[n]?.summary;
      if (!sum) return s.servers[n]?.unavailable ? 'n/a' : s.servers[n]?.samples.length ? 'failed' : '';
      const ratio = n === BASELINE || !sum.ratio ? '' : ` **${sum.ratio.median.toFixed(2)}x**`;
      const err = sum.errors ? ` (${sum.errors} errors)` : '';
      return `${rate(sum.rps.median)} [${rate(sum.rps.min)}–${rate(sum.rps.max)}]${ratio}${err}`;
    });
    const t = s.target ? `≥ ${s.target.ratio}x` : '';
    lines.push(`| ${s.title} (${load}) | ${cells.join(' | ')} | ${t} |`);
  }
  lines.push(
    '',
    `**Server CPU time per request** (µs, median; lower is better): utime+stime of the server's processes over the measured window, divided by requests. In brackets: how many times less than ${BASELINE}, and the server's CPU use (near 100% means the server, not the load tool, was the limit).`,
    '',
    `| scenario | ${cols.filter((n) => n !== CEILING).join(' | ')} |`,
    `|---|${cols.filter((n) => n !== CEILING).map(() => '---:').join('|')}|`,
  );
  for (const s of results.scenarios) {
    if (s.unavailable) continue;
    const cells = cols
      .filter((n) => n !== CEILING)
      .map((n) => {
        const sum = s.servers[n]?.summary;
        if (!sum) return 'n/a';
        const less = n === BASELINE || !sum.cpuRatio ? '' : `${sum.cpuRatio.median.toFixed(2)}x, `;
        return `${sum.cpuUsPerReq.median.toFixed(1)} (${less}${sum.cpuPct.median.toFixed(0)}%)`;
      });
    lines.push(`| ${s.title} | ${cells.join(' | ')} |`);
  }
  const m = results.memory;
  if (m) {
    lines.push(
      '',
      `**Memory**: idle RSS after start, and (median of ${m.rounds}) per idle keep-alive connection: the server's RSS (and live JS heap) with ${m.connections.toLocaleString('en')} connections open (one request each) minus before, over ${m.connections.toLocaleString('en')}, each read after a full GC. RSS also holds young-generation space V8 grows during the burst of accepts; the JS heap figure is the steady one. 1 kB = 1000 bytes.`,
      '',
      '| server | idle RSS | over bare node | RSS per idle connection [min–max] | JS heap per idle connection |',
      '|---|---:|---:|---:|---:|',
      `| bare \`node\`, one listening socket | ${(m.bareSummary.median / MB).toFixed(1)} MB | | | |`,
    );
    for (const [name, cell] of Object.entries(m.servers)) {
      if (cell.unavailable) continue;
      const idle = cell.summary.idle;
      const per = cell.summary.perConnection;
      const heap = cell.summary.heapPerConnection;
      const range = per ? `${kB(per.median)} [${(per.min / KB).toFixed(2)}–${(per.max / KB).toFixed(2)}]` : 'failed';
      lines.push(`| ${name} | ${idle ? `${(idle.median / MB).toFixed(1)} MB` : 'failed'} | ${idle ? `+${((idle.median - m.bareSummary.median) / MB).toFixed(1)} MB` : ''} | ${range} | ${heap ? kB(heap.median) : ''} |`);
    }
  }
  if (results.targets.length) {
    lines.push('', '**Targets** (reported, never asserted):', '', '| target | server | measured | |', '|---|---|---:|---|');
    for (const t of results.targets) lines.push(`| ${t.target} | ${t.server ?? ''} | ${t.value ?? ''} | ${verdict(t.met)}${t.note ? ` (${t.note})` : ''} |`);
  }
  lines.push('', '**Servers**:', '');
  for (const s of results.servers) lines.push(`- ${s.name}: ${s.unavailable ? `not available (${s.unavailable})` : s.about}`);
  const skipped = results.scenarios.filter((s) => s.unavailable);
  if (skipped.length) {
    lines.push('', '**Scenarios not available here**:', '');
    for (const s of skipped) lines.push(`- ${s.title}: ${s.unavailable}`);
  }
  return `${lines.join('\n')}\n`;
}

const PALETTE = { [CEILING]: '#dadce0' };
const COLORS = ['#1a73e8', '#e8710a', '#188038', '#a142f4', '#d01884', '#12b5cb', '#f9ab00', '#5f6368'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal grouped bar chart of each server's ratio to node:http, one group per scenario. */
export function svg(results) {
  // node:http is the 1x line, not a bar.
  const names = columns(results).filter((n) => n !== BASELINE && results.scenarios.some((s) => s.servers[n]?.summary?.ratio));
  const shown = results.scenarios.filter((s) => !s.unavailable && names.some((n) => s.servers[n]?.summary?.ratio));
  let color = 0;
  const fill = Object.fromEntries(names.map((n) => [n, PALETTE[n] ?? COLORS[color++ % COLORS.length]]));
  const BAR = 14;
  const GAP = 14;
  const LEFT = 230;
  const PLOT = 480;
  const width = LEFT + PLOT + 130; // room for "7.07x (max 12.3x)" past the edge
  // The legend: a swatch per series, wrapping onto as many rows as it needs.
  const items = [
    { label: `${BASELINE} = 1x`, mark: (lx, y) => `<line x1="${lx + 6}" y1="${y}" x2="${lx + 6}" y2="${y + 12}" stroke="#5f6368" stroke-width="2"/>` },
    ...names.map((n) => ({ label: n === CEILING ? 'tool ceiling' : n, mark: (lx, y) => `<rect x="${lx}" y="${y}" width="12" height="12" fill="${fill[n]}"/>` })),
    { label: 'target', mark: (lx, y) => `<line x1="${lx + 6}" y1="${y}" x2="${lx + 6}" y2="${y + 12}" stroke="#d93025" stroke-width="2"/>` },
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
  const groupH = names.length * BAR + GAP;
  const height = TOP + shown.length * groupH + 46;
  const machine = results.machine;
  // The scale covers every median and target; longer whiskers are cut at the edge.
  const top = Math.max(2, ...shown.flatMap((s) => names.map((n) => s.servers[n]?.summary?.ratio?.median ?? 0)), ...shown.map((s) => s.target?.ratio ?? 0));
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
    out.push(`<line x1="${x(v)}" y1="${TOP - 6}" x2="${x(v)}" y2="${height - 40}" stroke="${v === 1 ? '#5f6368' : '#eee'}"/>`, `<text x="${x(v)}" y="${height - 26}" text-anchor="middle">${v}x</text>`);
  }
  shown.forEach((s, i) => {
    const y0 = TOP + i * groupH;
    out.push(`<text x="${LEFT - 8}" y="${y0 + (names.length * BAR) / 2 + 4}" text-anchor="end">${esc(s.title)}</text>`);
    names.forEach((n, j) => {
      const r = s.servers[n]?.summary?.ratio;
      if (!r) return;
      const y = y0 + j * BAR;
      out.push(
        `<rect x="${LEFT}" y="${y + 1}" width="${Math.max(1, x(r.median) - LEFT)}" height="${BAR - 2}" fill="${fill[n]}"><title>${esc(n)}: ${r.median.toFixed(2)}x (${r.min.toFixed(2)}–${r.max.toFixed(2)})</title></rect>`,
        `<line x1="${x(r.min)}" y1="${y + BAR / 2}" x2="${x(Math.min(r.max, xmax))}" y2="${y + BAR / 2}" stroke="#202124" stroke-opacity="0.6"/>`,
        `<text x="${x(Math.min(Math.max(r.median, r.max), xmax)) + 4}" y="${y + BAR - 3}" font-size="10">${r.median.toFixed(2)}x${r.max > xmax ? ` (max ${r.max.toFixed(1)}x)` : ''}</text>`,
      );
    });
    if (s.target) out.push(`<line x1="${x(s.target.ratio)}" y1="${y0 - 2}" x2="${x(s.target.ratio)}" y2="${y0 + names.length * BAR + 2}" stroke="#d93025" stroke-width="2"/>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Summarises `results` and writes the three files; returns their paths. */
export function writeReport(results) {
  summarise(results);
  const base = `${RESULTS}${results.pass}`;
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(results));
  writeFileSync(`${base}.svg`, svg(results));
  return [`${base}.json`, `${base}.md`, `${base}.svg`];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/report.mjs bench/results/<pass>.json');
    process.exit(2);
  }
  console.log(writeReport(JSON.parse(readFileSync(file, 'utf8'))).join('\n'));
}
