import { describe, expect, it } from 'vitest';
import { CONFIG_FILE_ENV, ENV_KEYS } from '../config/schema.js';
import { HELP } from './help.js';

describe('gatehouse --help', () => {
  it('lists every environment variable of the schema with the key it sets and its line of doc', () => {
    const section = HELP.slice(HELP.indexOf('\nEnvironment'), HELP.indexOf('\nExamples:'));
    const flat = section.replace(/\n {3,}/g, ' ');
    const line = (env: string) => flat.split('\n').find((l) => l.startsWith(`  ${env} `))?.replace(/ +/g, ' ');
    for (const { env, path, leaf } of ENV_KEYS) expect(line(env), env).toContain(` ${env} ${path}: ${leaf.doc.replace(/ +/g, ' ')}`);
    expect(line(CONFIG_FILE_ENV.name)).toBe(` ${CONFIG_FILE_ENV.name} ${CONFIG_FILE_ENV.doc}`);
    expect(flat).toContain('One of fatal|error|warn|info|debug|trace|silent. Default: "info".');
  });

  it('names no variable Gatehouse does not read, and keeps within 100 columns', () => {
    const known = new Set([CONFIG_FILE_ENV.name, ...ENV_KEYS.map((e) => e.env)]);
    expect([...HELP.matchAll(/GATEHOUSE_[A-Z_]+/g)].map((m) => m[0]).filter((v) => !known.has(v))).toEqual([]);
    expect(HELP.split('\n').filter((l) => l.length > 100)).toEqual([]);
  });
});
