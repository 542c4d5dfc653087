// The settings' defaults (seconds, Gunicorn's names) are the core's (DEFAULTS, ms): one fact.
// A tsws worker with every setting at its default hands the core exactly the core's defaults.
import { resolveOptions } from '@tsws/core';
import { createLogger, defaults } from '@tsws/worker/internal';
import { coreOptions } from '@tsws/worker/internal/serve-options';
import { describe, expect, it } from 'vitest';

describe('the settings table and the core options', () => {
  it("give a worker left at its defaults the core's own defaults", () => {
    const { log } = createLogger({ logLevel: 'silent', logFormat: 'json', errorLog: '-' });
    const { logger: _a, onResponse: _b, ...fromSettings } = resolveOptions(coreOptions(defaults(), log));
    const { logger: _c, onResponse: _d, ...core } = resolveOptions({});
    expect(fromSettings).toEqual(core);
  });
});
