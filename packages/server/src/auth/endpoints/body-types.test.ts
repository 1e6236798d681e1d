import { describe, expectTypeOf, it } from 'vitest';
import type { ApiTokenCreateBody } from './api-tokens-create.js';
import type { ApiTokenParams } from './api-tokens-delete.js';
import type { PasswordChangeBody } from './password-change.js';
import type { SessionParams } from './sessions-delete.js';
import type { SigninBody } from './signin.js';
import type { SignupBody } from './signup.js';

// The request types are derived from the endpoints' JSON schemas (json-schema-to-ts). These are
// the shapes the handlers were written against: checked by the type check (tsc), not at run time.
describe('endpoint request types derived from their schemas', () => {
  it('match the shapes the handlers expect', () => {
    expectTypeOf<SignupBody>().toEqualTypeOf<{ username: string; password: string; challenge?: string }>();
    expectTypeOf<SigninBody>().toEqualTypeOf<{ username: string; password: string; device_id?: string; device_name?: string; remember?: boolean }>();
    expectTypeOf<PasswordChangeBody>().toEqualTypeOf<{ current_password: string; new_password: string }>();
    expectTypeOf<ApiTokenCreateBody>().toEqualTypeOf<{ name: string; scopes?: string[]; expires_in?: number }>();
    expectTypeOf<ApiTokenParams>().toEqualTypeOf<{ id: string }>();
    expectTypeOf<SessionParams>().toEqualTypeOf<{ id: string }>();
  });
});
