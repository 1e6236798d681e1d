import { passkeyProof } from './passkey-proof.js';
import { passwordProof } from './password-proof.js';
import { totpProof } from './totp-proof.js';
import type { ReauthProof } from './reauth.js';

/**
 * Every proof `POST /auth/reauth` takes, one body field each (reauth.ts). A second factor adds its
 * line here; the endpoint's schema and its OpenAPI description follow.
 */
export const REAUTH_PROOFS: readonly ReauthProof[] = [passwordProof, totpProof, passkeyProof];
