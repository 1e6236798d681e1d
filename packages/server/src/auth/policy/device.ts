import { GatehouseError } from '../../errors/index.js';

export const DEVICE_FIELD_MAX = 128;

/**
 * What is wrong with a device id or name, or null when it is acceptable: 1..128 printable
 * characters. Names may contain plain spaces; ids may not contain any whitespace.
 */
export function deviceFieldProblem(value: string, kind: 'id' | 'name'): string | null {
  const length = [...value].length;
  if (length < 1 || length > DEVICE_FIELD_MAX) return `must be 1 to ${DEVICE_FIELD_MAX} characters long`;
  if (/\p{C}/u.test(value)) return 'must not contain control, invisible or unassigned characters';
  if (kind === 'id' ? /[\p{Z}\s]/u.test(value) : /[\p{Zl}\p{Zp}]/u.test(value)) {
    return kind === 'id' ? 'must not contain spaces' : 'must not contain line breaks';
  }
  return null;
}

/** Throws `invalid_body` naming the field when a device id or name from a body is unacceptable. */
export function checkDeviceField(value: string, field: string, kind: 'id' | 'name'): string {
  const problem = deviceFieldProblem(value, kind);
  if (problem) throw new GatehouseError('invalid_body', { detail: `${field} ${problem}.` });
  return value;
}
