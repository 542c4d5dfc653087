// The access log a hand-written node:http app would keep: one combined-log-format line per
// response, appended through a write stream. The baseline for the access-log scenario.
import fs from 'node:fs';

export function openAccessLog(path) {
  return fs.createWriteStream(path, { flags: 'a' });
}

export function accessLine(req, status, bytes, ms) {
  const when = new Date().toISOString();
  return `${req.socket.remoteAddress} - - [${when}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${status} ${bytes} "${req.headers.referer ?? '-'}" "${req.headers['user-agent'] ?? '-'}" ${ms.toFixed(3)}\n`;
}
