// The head rules without sockets: every corpus case (test/corpus) is read by llhttp and the core's
// HeadReader, its head judged by judgeHead() (packages/core/src/head.ts, a pure function of the
// parsed head) and its body held to the body and trailer limits, and the outcome must be the
// case's: refused with its status, or let through as the request the app sees, with a URL that
// `new URL()` parses (apps parse request.url). The socket test (corpus.test.ts) runs the same cases.
import { describe, expect, it } from 'vitest';
import {
  ABSOLUTE_FORM,
  ASTERISK_FORM,
  CONNECT_FORM,
  expectsContinue,
  HeadReader,
  judgeHead,
} from '../../packages/core/src/head.js';
import * as llhttp from '../../packages/core/src/llhttp.js';
import { type Case, CORPUS_LIMITS, loadCases } from '../helpers/corpus.js';

/** What the server makes of a case's first message, read without a socket. */
interface Judged {
  head: HeadReader;
  /** The status the message was refused with (a parse error is a 400), or 0. */
  refused: number;
  /** Refused after its head was let through: for its body or trailers. */
  afterHead: boolean;
  /** judgeHead()'s form when it let the head through. */
  form: number;
}

/**
 * Reads the first message of `bytes` as a connection does: llhttp and HeadReader within the
 * header limits, judgeHead() on the head, then the body limit and the trailers' limits.
 */
function judge(bytes: Buffer): Judged {
  llhttp.load();
  const ptr = llhttp.allocParser();
  const head = new HeadReader(CORPUS_LIMITS);
  const judged: Judged = { head, refused: 0, afterHead: false, form: -1 };
  let received = 0;
  const check = (status: number) => {
    if (status === 0) return 0;
    judged.refused = status;
    return llhttp.ERROR.USER;
  };
  const ret = llhttp.execute(ptr, bytes, {
    onMessageBegin: () => {
      head.begin();
      return 0;
    },
    onUrl: (part) => check(head.addTarget(part, llhttp.methodOf(ptr))),
    onHeaderField: (part) => check(head.addName(part)),
    onHeaderValue: (part) => check(head.addValue(part)),
    onHeadersComplete: () => {
      if (check(head.end())) return llhttp.ERROR.USER;
      head.inHeaders = false;
      llhttp.readHead(ptr, head);
      const verdict = judgeHead(head, CORPUS_LIMITS.limitRequestBody);
      if (verdict >= 400) return check(verdict);
      judged.form = verdict;
      return 0;
    },
    onBody: (body) => {
      received += body.length;
      return check(received > CORPUS_LIMITS.limitRequestBody ? 413 : 0);
    },
    // The first message is all this test judges: stop before the next one.
    onMessageComplete: () => check(head.end()) || llhttp.ERROR.PAUSED,
  });
  llhttp.freeParser(ptr);
  if (ret !== llhttp.ERROR.OK && ret !== llhttp.ERROR.PAUSED && judged.refused === 0) judged.refused = 400;
  judged.afterHead = judged.form >= 0 && judged.refused !== 0;
  return judged;
}

/** `[...request.headers]` for the head's fields, as the app iterates them. */
function headersOf(head: HeadReader): Array<[string, string]> {
  const headers = new Headers();
  for (let i = 0; i < head.raw.length; i += 2) headers.append(head.raw[i]!, head.raw[i + 1]!);
  return [...headers];
}

const cases: Case[] = loadCases();

describe(`head rules over the corpus, no sockets (${cases.length} cases)`, () => {
  for (const { name, bytes, expected } of cases) {
    it(name, () => {
      const { head, refused, afterHead, form } = judge(bytes);
      if ('status' in expected) {
        if (form === ASTERISK_FORM) expect(expected.status).toBe(204);
        else if (form === CONNECT_FORM) expect(expected.status).toBe(501);
        else expect(refused, 'refused with').toBe(expected.status);
        // Let through at its head, refused for what came after it: there must be a body.
        if (afterHead) expect(head.bodyLength, 'a body to refuse').not.toBe(0);
        return;
      }
      expect(refused, 'refused with').toBe(0);
      expect(head.method).toBe(expected.method);
      const url = form === ABSOLUTE_FORM ? head.target : `http://${head.host || '127.0.0.1'}${head.target}`;
      expect(URL.canParse(url), `new URL(${JSON.stringify(url)})`).toBe(true);
      expect(url.replace(/^[a-z]+:\/\/[^/?#]*/i, '')).toBe(expected.target);
      if (form !== ABSOLUTE_FORM && expected.url !== undefined) expect(url).toBe(expected.url);
      expect(headersOf(head)).toEqual(expected.headers);
      // A 100 Continue is sent only to a client that waits for one, and only one HTTP/1.1 has.
      if (expected.interim !== undefined) expect(expectsContinue(head)).toBe(expected.interim.length > 0);
    });
  }
});
