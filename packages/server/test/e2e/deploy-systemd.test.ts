import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/help.js';
import { DEFAULTS, ENV_VARS } from '../../src/config/defaults.js';

// docs/deployment.md, "systemd": the shipped units say what the page says, and systemd itself
// finds nothing wrong with them (`systemd-analyze verify`; no systemd is running here, so the
// units cannot be started, only checked).

const DIR = fileURLToPath(new URL('../../../../deploy/systemd/', import.meta.url));
const UNITS = { 'gatehouse.service': 'start', 'gatehouse-gateway.service': 'gateway', 'gatehouse-auth.service': 'auth' } as const;
const ENV_NAMES = Object.keys(ENV_VARS);
const hasAnalyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasAnalyze && process.env.CI === 'true') throw new Error('systemd-analyze is not installed: .ci/run installs systemd');

/** Every `Key=value` of a unit, by section; repeated keys keep every value in order. */
function parseUnit(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    const key = `${section}.${line.slice(0, eq)}`;
    keys.set(key, [...(keys.get(key) ?? []), line.slice(eq + 1)]);
  }
  return keys;
}

const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-units-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('deploy/systemd units', () => {
  for (const [file, role] of Object.entries(UNITS)) {
    const text = readFileSync(join(DIR, file), 'utf8');
    const unit = parseUnit(text);
    const one = (key: string) => {
      const v = unit.get(key);
      expect(v, key).toHaveLength(1);
      return v![0]!;
    };

    it(`${file} runs \`gatehouse ${role}\` with the hardening and stop settings docs/deployment.md lists`, () => {
      expect(COMMANDS).toContain(role);
      expect(one('Service.ExecStart')).toBe(`/usr/local/bin/gatehouse ${role}`);
      expect(one('Service.Type')).toBe('exec');
      for (const [key, value] of Object.entries({
        DynamicUser: 'yes',
        User: 'gatehouse',
        NoNewPrivileges: 'yes',
        ProtectSystem: 'strict',
        ProtectHome: 'yes',
        PrivateTmp: 'yes',
        StateDirectory: 'gatehouse',
        KillSignal: 'SIGTERM',
        Restart: 'on-failure',
        EnvironmentFile: '/etc/gatehouse/gatehouse.env',
      }))
        expect(one(`Service.${key}`), key).toBe(value);
      // V8 writes machine code at run time: this one would crash node.
      expect(unit.has('Service.MemoryDenyWriteExecute')).toBe(false);

      const env = new Map(unit.get('Service.Environment')!.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
      expect(env.get('GATEHOUSE_DATA_DIR')).toBe('%S/gatehouse');
      for (const name of env.keys()) expect(ENV_NAMES, name).toContain(name);
      if (role === 'auth') expect(env.get('GATEHOUSE_AUTH_PORT')).toBe('9000');
      else expect(env.get('GATEHOUSE_PORT')).toBe('8080');
      // No secret in the unit: the master key and the database password come from the env file.
      expect(text).not.toMatch(/GATEHOUSE_MASTER_KEY=|GATEHOUSE_DATABASE_URL=/);

      // systemd's SIGKILL must not cut the graceful drain short.
      const stopSec = Number(/^(\d+)s?$/.exec(one('Service.TimeoutStopSec'))![1]);
      expect(stopSec * 1000).toBeGreaterThan(DEFAULTS.shutdown.drainTimeoutMs + 5000);
    });

    it.skipIf(!hasAnalyze)(`${file}: systemd-analyze verify finds nothing`, () => {
      // Only the executable's path changes: /usr/local/bin/gatehouse is not installed here.
      const exe = join(tmp, 'gatehouse');
      writeFileSync(exe, '#!/bin/sh\n');
      chmodSync(exe, 0o755);
      const copy = join(tmp, file);
      writeFileSync(copy, text.replace('/usr/local/bin/gatehouse', exe));
      const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', timeout: 20_000 });
      expect(r.stderr + r.stdout).toBe('');
      expect(r.status).toBe(0);
    });
  }

  it('docs/deployment.md names every key the units set', () => {
    const docs = readFileSync(fileURLToPath(new URL('../../../../docs/deployment.md', import.meta.url)), 'utf8');
    for (const file of Object.keys(UNITS))
      for (const key of parseUnit(readFileSync(join(DIR, file), 'utf8')).keys()) {
        const name = key.split('.')[1]!;
        if (['Description', 'After', 'Wants', 'WantedBy'].includes(name)) continue;
        expect(docs.includes(name) || docs.includes(`${name.replace(/(Tunables|Modules)$/, '')}*`), `${file}: ${name}`).toBe(true);
      }
  });

  it('the example environment file names only real variables and holds no secret', () => {
    const text = readFileSync(join(DIR, 'gatehouse.env.example'), 'utf8');
    for (const line of text.split('\n')) {
      const m = /^#?(GATEHOUSE_\w+)=(.*)$/.exec(line);
      if (!m) continue;
      expect(ENV_NAMES, m[1]).toContain(m[1]);
      if (m[1] === 'GATEHOUSE_MASTER_KEY') expect(m[2]).toBe('');
    }
  });
});
