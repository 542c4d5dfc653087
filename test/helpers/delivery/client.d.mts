// Types for the parts of client.mjs the TypeScript tests import.
export type ReaderSpec =
  | { kind: 'fast' }
  | { kind: 'slow'; rate: number }
  | { kind: 'stall'; after: number; forMs: number };
export interface Download {
  status: number;
  headers: Record<string, string>;
  framing: 'content-length' | 'chunked' | 'close-delimited' | null;
  bodyBytes: number;
  sha256: string | null;
  body: Buffer | null;
  complete: boolean;
  end: 'eof' | 'reset' | 'kept' | 'timeout' | null;
  reused: boolean;
  stalledAt: number | null;
  ms: number;
  error: string | null;
}
export const FRAMINGS: Record<string, (path: string) => string>;
export function download(opts: {
  port: number;
  path: string;
  framing: string;
  reader?: ReaderSpec;
  keepBody?: boolean;
  timeoutMs?: number;
}): Promise<Download>;
