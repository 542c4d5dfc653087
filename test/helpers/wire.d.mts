// Types for wire.mjs.
export type Fields = Array<[name: string, value: string]>;

export interface Head {
  version: string;
  status: number;
  reason: string;
  /** Lower-cased names, in order, repeated names kept apart. */
  headers: Fields;
  /** The head's length in bytes, its blank line included. */
  size: number;
}

export interface ParsedResponse extends Omit<Head, 'size'> {
  body: Buffer;
}

export function parseHead(buf: Buffer): Head | { error: string } | null;

export function parseResponse(
  buf: Buffer,
  options?: { head?: boolean | ((headers: Fields) => boolean); ended?: boolean },
): { response: ParsedResponse; size: number } | { error: string } | null;
