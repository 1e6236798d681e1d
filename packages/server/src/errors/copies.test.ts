/**
 * The SDK and the demo services cannot import the server, so each keeps its own copy of the
 * problem documents it answers with. Here the copies are held to the registry: a code they share
 * has the registry's status and title; the SDK's own codes are not in the registry and
 * docs/errors.md lists them (and the passport error causes), both ways.
 */
import { readFileSync } from 'node:fs';
import { PASSPORT_ERROR_STATUS, PassportError, refusalFor, type PassportErrorCode } from '@gatehouse/sdk';
import { describe, expect, it } from 'vitest';
import { PROBLEMS } from '../../../demo-services/src/common/problem.js';
import { ERROR_REGISTRY, isErrorCode, problemType } from './index.js';

const ERRORS_MD = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
/** The paragraph of docs/errors.md on the SDK's answers. */
const SDK_PARAGRAPH = ERRORS_MD.slice(ERRORS_MD.indexOf('The SDK (`@gatehouse/sdk`)'));
const codesIn = (text: string): string[] => [...text.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);

describe('the demo services\' problem documents', () => {
  it('use registry codes, each with the registry\'s status and title', () => {
    for (const [code, { status, title }] of Object.entries(PROBLEMS)) {
      expect(isErrorCode(code), code).toBe(true);
      expect({ status, title }, code).toEqual({ status: ERROR_REGISTRY[code as keyof typeof ERROR_REGISTRY].status, title: ERROR_REGISTRY[code as keyof typeof ERROR_REGISTRY].title });
    }
  });
});

describe('the SDK\'s refusals', () => {
  const causes = Object.keys(PASSPORT_ERROR_STATUS) as PassportErrorCode[];
  const bodies = causes.map((cause) => ({ cause, ...refusalFor(new PassportError(cause, 'test')) }));

  it('answer a registry code with the registry\'s status, title and type, or a code of the SDK\'s own that docs/errors.md lists', () => {
    const own = new Set<string>();
    for (const { cause, status, body } of bodies) {
      expect(body.status, cause).toBe(status);
      expect(status, cause).toBe(PASSPORT_ERROR_STATUS[cause]);
      if (isErrorCode(body.code)) {
        const entry = ERROR_REGISTRY[body.code];
        expect({ status: body.status, title: body.title, type: body.type }, cause).toEqual({ status: entry.status, title: entry.title, type: problemType(body.code) });
      } else {
        own.add(body.code);
        expect(body.type, cause).toBe(`urn:gatehouse:error:${body.code}`);
      }
    }
    expect([...own].sort()).toEqual(['invalid_passport', 'missing_passport']);
  });

  it('docs/errors.md lists every code the SDK answers with its status, and no other', () => {
    const listed = SDK_PARAGRAPH.slice(0, SDK_PARAGRAPH.indexOf('The body never says'));
    const documented = [...listed.matchAll(/`([a-z_]+)`\s+\((\d{3})/g)].map((m) => [m[1]!, Number(m[2])]);
    const answered = [...new Map(bodies.map((b) => [b.body.code, b.body.status])).entries()];
    const sort = (l: (string | number)[][]) => [...l].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(sort(documented)).toEqual(sort(answered));
  });

  it('docs/errors.md names every passport error cause, and no other', () => {
    const named = codesIn(SDK_PARAGRAPH.slice(SDK_PARAGRAPH.indexOf('names the cause'), SDK_PARAGRAPH.indexOf('as `PassportError.code`')));
    expect([...new Set(named)].sort()).toEqual([...causes].sort());
  });
});
