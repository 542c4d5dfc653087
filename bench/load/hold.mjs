// A client that opens N connections, sends one request on each and reads its response, so the
// server holds N real keep-alive connections, then keeps them open until it is killed. Prints
// `@@ready <n>` once every response has arrived, and `@@lost` if the server closes one after that.
import net from 'node:net';

const [port, count] = process.argv.slice(2).map(Number);
const REQUEST = `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
const BATCH = 500; // connections opened at once: stays well under the listen backlog
const sockets = [];
let ready = false;
let lost = false;

function open() {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(REQUEST));
    let got = '';
    s.setEncoding('latin1');
    s.on('data', function onData(d) {
      got += d;
      // The hello-world response is small: the whole of it arrives before we move on.
      if (/\r\n\r\n[\s\S]*hello world$/.test(got)) {
        s.off('data', onData);
        resolve();
      }
    });
    s.on('error', reject);
    s.on('close', () => {
      if (ready && !lost) process.stdout.write('@@lost\n');
      if (ready) lost = true;
      else reject(new Error('a connection was closed by the server before its response'));
    });
    sockets.push(s);
  });
}

for (let done = 0; done < count; done += BATCH) {
  await Promise.all(Array.from({ length: Math.min(BATCH, count - done) }, open));
}
ready = true;
process.stdout.write(`@@ready ${sockets.length}\n`);
setInterval(() => {}, 1 << 30);
