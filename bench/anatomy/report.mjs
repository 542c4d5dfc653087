// The tables of bench/anatomy.mjs: per scenario, each server's cost per request split by what
// spends it. Figures per request are per connection on Connection: close (one request each).
// `node bench/anatomy/report.mjs bench/results/anatomy-node20.json` redraws the .md from a JSON.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pct = (n, total) => (total ? `${((100 * n) / total).toFixed(1)}%` : '');
const fixed = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '');
const table = (head, rows) => [
  `| ${head.join(' | ')} |`,
  `|---|${head
    .slice(1)
    .map(() => '---:')
    .join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
];

/** Rows for the union of keys across servers, largest first by the first server that has them. */
function keyed(servers, pick, limit = Infinity) {
  const sum = new Map();
  for (const m of servers) for (const [k, v] of Object.entries(pick(m) ?? {})) sum.set(k, (sum.get(k) ?? 0) + v);
  return [...sum]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k]) => k);
}

function summary(names, cells) {
  return table(
    [
      'server',
      'req/s (noisy)',
      'CPU µs/req [min–max]',
      'JS heap allocated, B/req',
      'scavenges / 10k req',
      'GC ms / 10k req (wall time)',
      'syscalls/req',
    ],
    names.map((n, i) => {
      const m = cells[i];
      const a = m.alloc && !m.alloc.error ? m.alloc : null;
      const scavenges = a ? Object.entries(a.gcs).reduce((x, [k, v]) => x + (/scavenge|minor/i.test(k) ? v : 0), 0) : 0;
      return [
        n,
        m.cpu?.rps ? Math.round(m.cpu.rps).toString() : '',
        m.cpu?.rounds
          ? `${fixed(m.cpu.cpuUs, 2)} [${fixed(Math.min(...m.cpu.rounds), 1)}–${fixed(Math.max(...m.cpu.rounds), 1)}]`
          : '',
        a ? Math.round(a.allocated / a.requests).toString() : '',
        a ? fixed((scavenges * 1e4) / a.requests, 2) : '',
        a ? fixed((a.gcMs * 1e4) / a.requests, 2) : '',
        fixed(m.syscalls?.total, 2),
      ];
    }),
  );
}

function syscalls(names, cells) {
  const ok = cells.map((m) => (m.syscalls && !m.syscalls.error ? m.syscalls : null));
  const keys = keyed(
    ok.filter(Boolean),
    (s) => Object.fromEntries(Object.entries(s.calls).map(([k, v]) => [k, v.calls / s.tracedRequests])),
    14,
  );
  if (!keys.length) return [];
  return [
    '',
    '**Syscalls per request** (`strace -c -f`; in brackets, those that failed, such as EAGAIN):',
    '',
    ...table(
      ['syscall', ...names],
      keys.map((k) => [
        k,
        ...ok.map((s) => {
          const c = s?.calls[k];
          if (!c) return s ? '0' : '';
          return `${fixed(c.calls / s.tracedRequests, 2)}${c.errors ? ` (${fixed(c.errors / s.tracedRequests, 2)})` : ''}`;
        }),
      ]),
    ),
  ];
}

/** A split of CPU into owners: each owner's share, and the µs per request it stands for. */
function owners(title, names, cells, pick) {
  const ok = cells.map((m) => pick(m));
  // Owners under 0.2% of every server's samples are left out: rounding noise.
  const keys = keyed(ok.filter(Boolean), (p) =>
    Object.fromEntries(Object.entries(p.owners).map(([k, v]) => [k, v / p.samples])),
  ).filter((k) => ok.some((p) => p && (p.owners[k] ?? 0) / p.samples >= 0.002));
  if (!keys.length) return [];
  return [
    '',
    title,
    '',
    ...table(
      ['where', ...names],
      keys.map((k) => [
        k,
        ...ok.map((p, i) => {
          if (!p) return '';
          const share = (p.owners[k] ?? 0) / p.samples;
          const us = cells[i].cpu?.cpuUs;
          return `${pct(share, 1)}${us ? ` (${fixed(share * us, 2)} µs)` : ''}`;
        }),
      ]),
    ),
  ];
}

function top(title, map, total, per, limit = 15) {
  const rows = Object.entries(map)
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit);
  return [
    '',
    title,
    '',
    ...table(
      ['function', 'share', per.label],
      rows.map(([k, v]) => [`\`${k}\``, pct(v, total), per.of(v)]),
    ),
  ];
}

export function markdown(results) {
  const out = [
    `# Where the time goes (bench/anatomy.mjs)`,
    '',
    `Node ${results.node}, ${results.startedAt.slice(0, 10)}; one fresh server per measure, ${results.durationS} s windows after ${results.warmS} s of warm-up (CPU per request: the median of ${results.rounds} such windows per server, the servers in turn); wrk one thread on core 1, the server on core 0. Per request means per connection on Connection: close. The machine may be shared: req/s is noise there, CPU time per request and the counts are not.`,
  ];
  for (const s of results.scenarios) {
    const names = Object.keys(s.servers).filter((n) => !s.servers[n].unavailable);
    const cells = names.map((n) => s.servers[n]);
    out.push('', `## ${s.title} (${s.connections} connections)`, '', ...summary(names, cells));
    for (const [n, c] of Object.entries(s.servers))
      if (c.unavailable) out.push('', `${n}: not available (${c.unavailable})`);
    out.push(...syscalls(names, cells));
    out.push(
      ...owners(
        '**perf: CPU by where the code lives** (self samples of every thread; in brackets, the µs per request that share stands for):',
        names,
        cells,
        (m) => (m.perf && !m.perf.error ? m.perf : null),
      ),
    );
    out.push(
      ...owners(
        '**CPU profile (V8\'s view of the main thread)**: native calls count to the JS function that made them; "native, outside JS" is libuv, the kernel and Node\'s C++ before JS is entered:',
        names,
        cells,
        (m) => (m.profile && !m.profile.error ? m.profile : null),
      ),
    );
    for (const [i, n] of names.entries()) {
      const us = cells[i].cpu?.cpuUs ?? Number.NaN;
      const perf = cells[i].perf;
      if (perf && !perf.error)
        out.push(
          ...top(`**${n}: perf's hottest symbols** (self)`, perf.symbols, perf.samples, {
            label: 'µs/req',
            of: (v) => fixed((v / perf.samples) * us, 2),
          }),
        );
      const p = cells[i].profile;
      if (p && !p.error)
        out.push(
          ...top(`**${n}: the JS functions that take the most self time** (CPU profile)`, p.functions, p.samples, {
            label: 'µs/req',
            of: (v) => fixed((v / p.samples) * us, 2),
          }),
        );
      const h = cells[i].heap;
      if (h && !h.error) {
        const total = Object.values(h.sites).reduce((a, b) => a + b, 0);
        out.push(
          ...top(`**${n}: where the JS heap bytes are allocated** (sampled)`, h.sites, total, {
            label: 'B/req',
            of: (v) => fixed(v / h.requests, 0),
          }),
        );
      }
    }
    const errors = names.flatMap((n, i) =>
      Object.entries(cells[i])
        .filter(([, v]) => v?.error)
        .map(([k, v]) => `${n} ${k}: ${v.error}`),
    );
    if (errors.length) out.push('', 'Failed:', '', ...errors.map((e) => `- ${e}`));
  }
  return `${out.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/anatomy/report.mjs bench/results/<name>-node<major>.json');
    process.exit(2);
  }
  writeFileSync(file.replace(/\.json$/, '.md'), markdown(JSON.parse(readFileSync(file, 'utf8'))));
}
