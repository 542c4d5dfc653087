// Types for procfs.mjs, which the TypeScript tests import.
export function heldConnections(pid: number, serverPort: number): Set<number>;
export function heldSockets(pid: number): Array<{ localPort: number; remotePort: number }>;
export function identity(pid: number): { uid: number[]; gid: number[]; groups: number[] };
export function processGroup(pgid: number): Array<{ pid: number; state: string }>;
export function childPids(pid: number): number[];
export function alive(pid: number): boolean;
