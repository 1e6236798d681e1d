#!/usr/bin/env node
// Names the JavaScript in a callgrind dump. Under valgrind, V8's JIT-compiled code has no
// symbols: callgrind_annotate lists it as `0x…` addresses, so the biggest share of a request's
// instructions cannot be told apart. Run node with --perf-basic-prof and V8 writes
// /tmp/perf-<pid>.map (start, size, name of every code object it makes); this reads a dump kept by
// bench/instructions.mjs, names each address by the map (the latest object at that address, since
// code space is reused), and prints the self cost per request of every function: JS functions
// (`JS:*name file:line`, `*` optimised, `~` interpreted), regular expressions (`RegExp:…`, code of
// their own), V8 builtins and C++. With --callers PATTERN it prints who calls the functions whose
// name matches (a builtin such as KeyedLoadIC_Megamorphic is cheap alone and costly in numbers),
// and with --base it prints the difference from another dump (e.g. the bare hop's), largest first.
//
// How issue 16 found the ~9 k instructions a cookie request spent in async hooks (emitInitScript
// and its megamorphic loads, from one AsyncLocalStorage in the auth service sharing the process):
//   node bench/instructions.mjs --credential cookie --signins 0 --runs 2 \
//     --node-flags="--no-memory-reducer --perf-basic-prof" --keep /tmp/cg
//   node bench/callgrind-js.mjs /tmp/cg/cg.gh-cookie.<pid>.2-01 --base /tmp/cg/cg.bare.<pid>.2-01
//   node bench/callgrind-js.mjs /tmp/cg/cg.gh-cookie.<pid>.2-01 --callers KeyedLoadIC_Megamorphic
// The map of a dump is /tmp/perf-<pid>.map (the pid is in the dump's name; --map to name another).
// --per N divides by N requests (default 4000, instructions.mjs's batch); --top N rows (default 40).
//   node bench/callgrind-js.mjs <dump> [--map FILE] [--base <dump> [--base-map FILE]] [--callers PATTERN] [--per 4000] [--top 40]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    map: { type: 'string' },
    base: { type: 'string' },
    'base-map': { type: 'string' },
    callers: { type: 'string' },
    per: { type: 'string', default: '4000' },
    top: { type: 'string', default: '40' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node bench/callgrind-js.mjs <callgrind dump> [--map FILE] [--base <dump>] [--callers PATTERN] [--per 4000] [--top 40]');
  process.exit(2);
}
const PER = Math.max(1, Number(values.per));
const TOP = Math.max(1, Number(values.top));

/** The perf map of a dump named cg.<label>.<pid>.<part>-<thread> (or callgrind.out.<pid>…). */
function defaultMap(dump) {
  const m = /\.(\d+)\.\d+-\d+$/.exec(basename(dump)) ?? /\.out\.(\d+)/.exec(basename(dump));
  if (m === null) throw new Error(`cannot tell the pid of ${dump}: pass --map /tmp/perf-<pid>.map`);
  return `/tmp/perf-${m[1]}.map`;
}

/** A lookup from a code address to the name of the code object there (the last one the map names). */
function loadMap(file) {
  const latest = new Map();
  for (const line of readFileSync(file, 'latin1').split('\n')) {
    const a = line.indexOf(' ');
    const b = line.indexOf(' ', a + 1);
    if (a < 0 || b < 0) continue;
    latest.set(parseInt(line.slice(0, a), 16), { size: parseInt(line.slice(a + 1, b), 16), name: line.slice(b + 1) });
  }
  const starts = [...latest.keys()].sort((x, y) => x - y);
  return (addr) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= addr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const e = latest.get(starts[found]);
    return addr < starts[found] + e.size ? e.name : undefined;
  };
}

/**
 * Self cost by function name, and calls (caller -> callee: inclusive cost, count), from a
 * callgrind dump (positions: line; events: Ir). Name compression `(id) name` is undone; a cost
 * line right after `calls=` is the call's inclusive cost, not the caller's own.
 */
function readDump(file, resolve) {
  const names = new Map();
  const label = (token) => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(token);
    let name = token;
    if (m !== null) {
      if (m[2] !== undefined) names.set(m[1], m[2]);
      name = names.get(m[1]) ?? '?';
    }
    const hex = /^0x([0-9a-f]+)$/.exec(name);
    return hex === null ? name : (resolve(parseInt(hex[1], 16)) ?? '(JIT code the map does not name)');
  };
  const self = new Map();
  const calls = new Map();
  let fn = '?';
  let cfn = '?';
  let pendingCalls = -1;
  for (const line of readFileSync(file, 'latin1').split('\n')) {
    if (line.startsWith('fn=')) fn = label(line.slice(3));
    else if (line.startsWith('cfn=')) cfn = label(line.slice(4));
    else if (line.startsWith('calls=')) pendingCalls = Number(line.slice(6).split(' ')[0]);
    else if (/^[0-9+\-*]/.test(line)) {
      const cost = Number(line.split(' ')[1] ?? 0);
      if (pendingCalls >= 0) {
        const key = `${fn}\u0000${cfn}`;
        const c = calls.get(key) ?? { cost: 0, count: 0 };
        c.cost += cost;
        c.count += pendingCalls;
        calls.set(key, c);
        pendingCalls = -1;
      } else self.set(fn, (self.get(fn) ?? 0) + cost);
    }
  }
  return { self, calls };
}

const fmt = (n) => (n / PER).toFixed(0).padStart(9);
const dump = positionals[0];
const target = readDump(dump, loadMap(values.map ?? defaultMap(dump)));
const total = [...target.self.values()].reduce((a, b) => a + b, 0);
console.log(`${dump}: ${fmt(total).trim()} instructions per request (÷ ${PER})`);

if (values.callers !== undefined) {
  const re = new RegExp(values.callers);
  const rows = [...target.calls].filter(([k]) => re.test(k.split('\u0000')[1])).map(([k, c]) => ({ caller: k.split('\u0000')[0], callee: k.split('\u0000')[1], ...c }));
  rows.sort((a, b) => b.cost - a.cost);
  console.log(`\ncallers of /${values.callers}/: inclusive instructions per request, calls per request, caller -> callee`);
  for (const r of rows.slice(0, TOP)) console.log(`${fmt(r.cost)} ${(r.count / PER).toFixed(1).padStart(7)}  ${r.caller} -> ${r.callee}`);
} else if (values.base !== undefined) {
  const base = readDump(values.base, loadMap(values['base-map'] ?? defaultMap(values.base)));
  const baseTotal = [...base.self.values()].reduce((a, b) => a + b, 0);
  console.log(`${values.base}: ${fmt(baseTotal).trim()} per request; difference ${fmt(total - baseTotal).trim()}`);
  const keys = new Set([...target.self.keys(), ...base.self.keys()]);
  const rows = [...keys].map((k) => ({ k, d: (target.self.get(k) ?? 0) - (base.self.get(k) ?? 0), t: target.self.get(k) ?? 0, b: base.self.get(k) ?? 0 }));
  rows.sort((a, b) => b.d - a.d);
  console.log('\nself instructions per request: difference, base, this dump, function');
  for (const r of rows.slice(0, TOP)) console.log(`${fmt(r.d)} ${fmt(r.b)} ${fmt(r.t)}  ${r.k}`);
} else {
  const rows = [...target.self].sort((a, b) => b[1] - a[1]);
  console.log('\nself instructions per request, function');
  for (const [k, v] of rows.slice(0, TOP)) console.log(`${fmt(v)}  ${k}`);
}
