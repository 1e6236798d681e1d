import { describe, expect, it } from 'vitest';
import { problemFor, ServiceError } from './common/problem.js';

describe('problemFor', () => {
  it('hides everything about a server error', () => {
    const p = problemFor(new Error('SQLITE_CORRUPT at /var/lib/gatehouse/notes.db'));
    expect(p).toEqual({ type: 'urn:gatehouse:error:internal', title: 'Internal error', status: 500, detail: 'Internal error', code: 'internal' });
    expect(problemFor('a string')).toMatchObject({ status: 500, code: 'internal' });
    expect(problemFor(Object.assign(new Error('boom'), { statusCode: 503 }))).toMatchObject({ status: 500, detail: 'Internal error' });
  });

  it('keeps the detail of a deliberate client error', () => {
    expect(problemFor(new ServiceError('forbidden', 'No.'))).toMatchObject({ status: 403, code: 'forbidden', detail: 'No.' });
  });
});
