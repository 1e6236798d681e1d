import type { Grant } from './grant.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { deviceCodeGrant } from './device-code.js';
import { mfaOtpGrant } from './mfa-otp.js';
import { passwordGrant } from './password.js';
import { refreshTokenGrant } from './refresh-token.js';
import { tokenExchangeGrant } from './token-exchange.js';

/**
 * Every grant type POST /auth/token accepts, each once. A new grant is a file in this folder
 * and a line here; `credentials/token-endpoint-metadata.ts` lists the same names for discovery
 * (grants.test.ts holds the two together).
 */
export const GRANTS: readonly Grant[] = [passwordGrant, refreshTokenGrant, clientCredentialsGrant, deviceCodeGrant, tokenExchangeGrant, mfaOtpGrant];
