/** Every store contract, for a backend's test file to run in one call. */
import type { MakeStores, StoreContractOptions } from './fixtures.test-helpers.js';
import { runApiTokenStoreContract } from './api-token-store.case.js';
import { runAuditStoreContract } from './audit-store.case.js';
import { runAuditQueryContract } from './audit-query.case.js';
import { runClientStoreContract } from './client-store.case.js';
import { runClosedStoresContract } from './closed-stores.case.js';
import { runDeviceCodeStoreContract } from './device-code-store.case.js';
import { runEmailStoreContract } from './email-store.case.js';
import { runIdentityStoreContract } from './identity-store.case.js';
import { runKeyStoreContract } from './key-store.case.js';
import { runMfaStoreContract } from './mfa-store.case.js';
import { runRateLimitStoreContract } from './rate-limit-store.case.js';
import { runRefreshTokenStoreContract } from './refresh-token-store.case.js';
import { runRevocationStoreContract } from './revocation-store.case.js';
import { runSessionStoreContract } from './session-store.case.js';
import { runUserStoreContract } from './user-store.case.js';
import { runUserSearchContract } from './user-search.case.js';
import { runWebAuthnStoreContract } from './webauthn-store.case.js';

export type { MakeStores, StoreContractOptions } from './fixtures.test-helpers.js';
export {
  runApiTokenStoreContract,
  runAuditQueryContract,
  runAuditStoreContract,
  runClientStoreContract,
  runDeviceCodeStoreContract,
  runEmailStoreContract,
  runIdentityStoreContract,
  runKeyStoreContract,
  runMfaStoreContract,
  runRateLimitStoreContract,
  runRefreshTokenStoreContract,
  runRevocationStoreContract,
  runSessionStoreContract,
  runUserSearchContract,
  runUserStoreContract,
  runWebAuthnStoreContract,
};

export function runStoreContracts(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  runUserStoreContract(name, makeStores, options);
  runUserSearchContract(name, makeStores);
  runSessionStoreContract(name, makeStores, options);
  runKeyStoreContract(name, makeStores, options);
  runRevocationStoreContract(name, makeStores, options);
  runRefreshTokenStoreContract(name, makeStores, options);
  runApiTokenStoreContract(name, makeStores, options);
  runAuditStoreContract(name, makeStores, options);
  runAuditQueryContract(name, makeStores);
  runClientStoreContract(name, makeStores, options);
  runDeviceCodeStoreContract(name, makeStores, options);
  runIdentityStoreContract(name, makeStores, options);
  runMfaStoreContract(name, makeStores, options);
  runWebAuthnStoreContract(name, makeStores);
  runEmailStoreContract(name, makeStores);
  runRateLimitStoreContract(name, makeStores);
  runClosedStoresContract(name, makeStores);
}
