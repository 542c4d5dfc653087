// Socket options Node cannot read back: a python3 child given the fds reads them.
import { spawnSync } from 'node:child_process';

/** TCP_NODELAY of each socket fd, as python3's getsockopt reports it ('1' on, '0' off). */
export function tcpNoDelay(fds: number[]): string[] {
  const passed = fds.map((_, i) => i + 3);
  const check = spawnSync(
    'python3',
    [
      '-c',
      `import socket\nfor fd in (${passed.join(', ')},):\n` +
        '  s = socket.socket(fileno=fd); print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)); s.detach()',
    ],
    { stdio: ['ignore', 'pipe', 'inherit', ...fds] },
  );
  return check.stdout.toString().trim().split('\n');
}
