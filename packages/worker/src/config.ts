// Resolving settings from their sources, in Gunicorn's order: defaults < config file < TSWS_*
// environment variables < TSWS_CMD_ARGS < the command line. Flags that were not given are
// undefined, so they never override a lower layer. Everything is checked before anything starts.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CommanderError, Help, Option, Command as Program } from 'commander';
import { WORKER_ENV } from './protocol.js';
import {
  CONFIG_FILES,
  type Command,
  defaults,
  describe,
  envName,
  flagName,
  SETTINGS,
  type Setting,
  type SettingName,
  type Settings,
} from './settings.js';
import { describeSyntaxError } from './syntax.js';
import { type Usage, usageSections } from './usage.js';

/** A bad setting, or a bad command line: the message names the option, where it came from and why. */
export class SettingError extends Error {
  override readonly name = 'SettingError';
  readonly code = 'ERR_TSWS_BAD_SETTING';
}

export type Source = 'default' | 'config' | 'env' | 'TSWS_CMD_ARGS' | 'cli';

export interface Resolved {
  settings: Settings;
  /** Where each setting's value came from. */
  sources: Record<SettingName, Source>;
  /** The config file read, if any (absolute). */
  configFile: string | undefined;
  /** What was given but means nothing (a misspelt TSWS_* variable), one line each, for the log. */
  warnings: string[];
}

const NAMES = Object.keys(SETTINGS) as SettingName[];

function spec(name: SettingName): Setting<unknown> {
  return SETTINGS[name] as Setting<unknown>;
}

function settingsFor(command: Command): SettingName[] {
  return NAMES.filter((name) => spec(name).commands.includes(command));
}

function attributeName(flags: string): string {
  // commander keeps `--no-x` as x = false.
  const long = flags.match(/--(?:no-)?([\w-]+)/)![1]!;
  return long.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
}

/** Where option meanings start in --help: wider flags stand above theirs. */
const HELP_COLUMN = 28;

/**
 * The commander program for `command`, built from the table: flags grouped by section, help
 * lines from each description's first sentence and the default, then the signals, exit codes and
 * examples of `usage`. Values are left as given.
 */
export function buildProgram(command: Command, version: string, usage?: Usage): Program {
  const program = new Program(command)
    .version(version, '-v, --version', 'Show the version.')
    .helpOption('-h, --help', 'Show this help.')
    .argument('[app]', spec('app').desc)
    .allowExcessArguments(false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .configureHelp({
      // One column for the meanings; a flag too long for it stands on a line of its own above.
      formatItem: (term, termWidth, description, helper) => {
        const column = Math.min(termWidth, HELP_COLUMN);
        if (term.length <= column) return Help.prototype.formatItem.call(helper, term, column, description, helper);
        return `  ${term}\n${Help.prototype.formatItem.call(helper, '', column, description, helper)}`;
      },
      formatHelp: (cmd, helper) =>
        Help.prototype.formatHelp.call(helper, cmd, helper) + (usage ? `\n${usageSections(usage, helper)}` : ''),
    });
  program.description(
    command === 'tsws'
      ? 'Serve a Node app in one process with tsws.'
      : 'Run a Node app on every core: a master process keeps tsws workers alive and reloads them ' +
          'without dropping requests.',
  );
  for (const name of settingsFor(command)) {
    const s = spec(name);
    if (!s.flags) continue;
    const option = new Option(
      s.flags,
      s.action
        ? firstSentence(s.desc)
        : `${firstSentence(s.desc)} (default: ${defaultText(name)}; env ${envName(name)})`,
    );
    option.helpGroup(`${s.section}:`);
    if (s.repeatable) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    program.addOption(option);
    if (s.negatable)
      program.addOption(new Option(negation(s.flags), `Turn ${flagName(name)} off.`).helpGroup(`${s.section}:`));
  }
  return program;
}

/** `--control-socket <path>` -> `--no-control-socket`. */
function negation(flags: string): string {
  return `--no-${flags.match(/--([\w-]+)/)![1]}`;
}

/** Up to the first full stop that ends a sentence (not the one in "e.g. 0o007"). */
function firstSentence(text: string): string {
  const m = text.match(/^.*?[.!?](?=\s+[A-Z`(]|$)/);
  return (m ? m[0] : text).replace(/[.]$/, '');
}

export function defaultText(name: SettingName): string {
  const s = spec(name);
  if (s.defaultText !== undefined) return s.defaultText;
  const d = typeof s.default === 'function' ? (s.default as () => unknown)() : s.default;
  return Array.isArray(d) ? d.join(',') : String(d);
}

/** Parses argv (without node and the script) into given values only, plus the positional app. */
function parseArgs(
  command: Command,
  argv: string[],
  version: string,
  usage?: Usage,
): Partial<Record<SettingName, unknown>> {
  const program = buildProgram(command, version, usage);
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        throw err;
      // One line: commander puts its suggestion on a line of its own.
      throw new SettingError(
        err.message.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\)$/, ' (did you mean $1)'),
      );
    }
    throw err;
  }
  const given: Partial<Record<SettingName, unknown>> = {};
  const opts = program.opts<Record<string, unknown>>();
  for (const name of settingsFor(command)) {
    const s = spec(name);
    if (!s.flags) continue;
    const attribute = attributeName(s.flags);
    // Only what was given: a lone `--no-x` makes commander default x to true.
    if (opts[attribute] !== undefined && program.getOptionValueSource(attribute) !== 'default')
      given[name] = opts[attribute];
  }
  if (program.args[0] !== undefined) given.app = program.args[0];
  return given;
}

/** Splits TSWS_CMD_ARGS as a shell would for simple quoting ('single', "double", backslash). */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | null = null;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) current += line[++i];
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < line.length) {
      current += line[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || current) out.push(current);
      current = '';
      has = false;
    } else {
      current += c;
      has = true;
    }
  }
  if (quote) throw new SettingError(`TSWS_CMD_ARGS: unclosed ${quote}`);
  if (has || current) out.push(current);
  return out;
}

function fromEnv(command: Command, env: NodeJS.ProcessEnv): Partial<Record<SettingName, unknown>> {
  const given: Partial<Record<SettingName, unknown>> = {};
  for (const name of settingsFor(command)) {
    const s = spec(name);
    if (s.action || s.hook) continue;
    const value = env[envName(name)];
    if (value !== undefined && value !== '') given[name] = value;
  }
  return given;
}

const requireCache = createRequire(import.meta.url).cache;
let reads = 0;

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    if (path.endsWith('.json')) value = JSON.parse(readFileSync(path, 'utf8'));
    else {
      // A master reads its config file again on each reload (HUP): a fresh module each time, not
      // the one import() cached (modules the file itself imports stay cached).
      delete requireCache[path];
      const mod = (await import(`${pathToFileURL(path).href}?read=${++reads}`)) as { default?: unknown };
      value = mod.default;
      if (typeof value === 'function') value = await (value as () => unknown)();
    }
  } catch (err) {
    const syntax = path.endsWith('.json') ? undefined : await describeSyntaxError(err, path);
    throw new SettingError(`config file ${path}: ${syntax ?? (err as Error).message}`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const where = path.endsWith('.json') ? '' : ' as the default export';
    throw new SettingError(`config file ${path}: expected an object of settings${where}, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function closest(word: string, candidates: string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const next = row[j]!;
        row[j] = Math.min(
          row[j]! + 1,
          row[j - 1]! + 1,
          prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
        );
        prev = next;
      }
    }
    return row[b.length]!;
  };
  let best: string | undefined;
  let bestScore = 3;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestScore) {
      best = c;
      bestScore = d;
    }
  }
  return best;
}

export interface ResolveOptions {
  /** Command-line arguments, without node and the script. */
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Values from code (createMaster options): they rank with the command line. */
  overrides?: Partial<Settings>;
  /** For --version. */
  version?: string;
  /** For --help: the signals, exit codes and examples. */
  usage?: Usage;
}

/**
 * Resolves the settings of `command` from every source; throws SettingError naming the option,
 * its source and the reason for the first bad value. Commander's help/version requests surface as
 * CommanderError for the CLI to print.
 */
export async function resolveSettings(command: Command, options: ResolveOptions = {}): Promise<Resolved> {
  const env = options.env ?? process.env;
  const version = options.version ?? '0.0.0';
  const cli = parseArgs(command, options.argv ?? [], version, options.usage);
  const envValues = fromEnv(command, env);
  const cmdArgs = env.TSWS_CMD_ARGS ? parseArgs(command, splitArgs(env.TSWS_CMD_ARGS), version) : {};
  const code = (options.overrides ?? {}) as Partial<Record<SettingName, unknown>>;

  // The config file is named by the higher layers, or found in --chdir.
  const named = code.config ?? cli.config ?? cmdArgs.config ?? envValues.config;
  const chdir = String(code.chdir ?? cli.chdir ?? cmdArgs.chdir ?? envValues.chdir ?? process.cwd());
  let configFile: string | undefined;
  if (named !== undefined) {
    configFile = isAbsolute(String(named)) ? String(named) : resolve(String(named));
    if (!existsSync(configFile)) throw new SettingError(`--config: no such file: ${configFile}`);
  } else {
    configFile = CONFIG_FILES.map((f) => resolve(chdir, f)).find((f) => existsSync(f));
  }
  const fileValues: Partial<Record<SettingName, unknown>> = {};
  if (configFile) {
    const raw = await readConfigFile(configFile);
    for (const [key, value] of Object.entries(raw)) {
      if (!(key in SETTINGS) || spec(key as SettingName).action || key === 'config') {
        const hint = closest(
          key,
          NAMES.filter((n) => !spec(n).action),
        );
        throw new SettingError(
          `config file ${configFile}: unknown setting "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}`,
        );
      }
      // A config file may serve both commands: settings for the other one are ignored here.
      if (spec(key as SettingName).commands.includes(command)) fileValues[key as SettingName] = value;
    }
  }

  const settings = defaults() as Record<SettingName, unknown>;
  const sources = Object.fromEntries(NAMES.map((n) => [n, 'default'])) as Record<SettingName, Source>;
  const layers: Array<[Source, Partial<Record<SettingName, unknown>>]> = [
    ['config', fileValues],
    ['env', envValues],
    ['TSWS_CMD_ARGS', cmdArgs],
    ['cli', cli],
    ['cli', code],
  ];
  for (const [source, values] of layers) {
    for (const [name, raw] of Object.entries(values) as Array<[SettingName, unknown]>) {
      if (raw === undefined) continue;
      try {
        settings[name] = spec(name).parse(raw);
      } catch (err) {
        throw new SettingError(`${where(name, source, configFile)}: ${(err as Error).message}`);
      }
      sources[name] = source;
    }
  }
  return { settings: settings as Settings, sources, configFile, warnings: unknownVariables(env) };
}

/**
 * TSWS_* variables that name no setting but nearly do: a misspelling is otherwise ignored without
 * a word. One far from every name is left alone (an app or a tool may have variables of its own).
 */
function unknownVariables(env: NodeJS.ProcessEnv): string[] {
  const known = NAMES.filter((n) => !spec(n).action && spec(n).section !== 'Hooks').map(envName);
  const other = new Set(['TSWS_CMD_ARGS', WORKER_ENV]);
  const warnings: string[] = [];
  for (const key of Object.keys(env)) {
    if (!key.startsWith('TSWS_') || known.includes(key) || other.has(key)) continue;
    const hint = closest(key, known);
    if (hint) warnings.push(`${key} is not a setting and is ignored (did you mean ${hint}?)`);
  }
  return warnings;
}

function where(name: SettingName, source: Source, configFile: string | undefined): string {
  switch (source) {
    case 'config':
      return `"${name}" in ${configFile}`;
    case 'env':
      return envName(name);
    case 'TSWS_CMD_ARGS':
      return `${flagName(name)} in TSWS_CMD_ARGS`;
    default:
      return name === 'app' ? 'APP' : flagName(name);
  }
}

/** Settings as JSON for --print-config (functions shown by name). */
export function printable(settings: Settings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings)) {
    if (spec(k as SettingName).action) continue;
    out[k] = typeof v === 'function' ? `[function ${v.name || 'anonymous'}]` : v;
  }
  return out;
}

/** The README's option reference, generated from the table (scripts/settings-docs.mjs writes it there). */
export function settingsMarkdown(): string {
  const sections = new Map<string, SettingName[]>();
  for (const name of NAMES) {
    if (name === 'app') continue;
    const s = spec(name);
    sections.set(s.section, [...(sections.get(s.section) ?? []), name]);
  }
  let md = '';
  for (const [section, names] of sections) {
    md += `\n#### ${section}\n\n`;
    md += '| Flag | Config key / env | Default | Commands | Description |\n|---|---|---|---|---|\n';
    for (const name of names) {
      const s = spec(name);
      const flags = s.flags
        ? `\`${s.flags.replace(/\|/g, '\\|')}\`${s.negatable ? `, \`${negation(s.flags)}\`` : ''}`
        : '(config file only)';
      const key = s.action ? '(command line only)' : s.hook ? `\`${name}\`` : `\`${name}\` / \`${envName(name)}\``;
      const commands = s.commands.length === 2 ? 'both' : s.commands[0]!;
      const shown = s.action ? '' : defaultText(name).replace(/\|/g, '\\|');
      md += `| ${flags} | ${key} | ${shown} | ${commands} | ${s.desc.replace(/\|/g, '\\|')} |\n`;
    }
  }
  return md;
}
