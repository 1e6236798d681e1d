/** Every store contract, for a backend's test file to run in one call. */
import type { MakeStores, StoreContractOptions } from './fixtures.test-helpers.js';
import { runKeyStoreContract } from './key-store.case.js';
import { runRevocationStoreContract } from './revocation-store.case.js';
import { runSessionStoreContract } from './session-store.case.js';
import { runUserStoreContract } from './user-store.case.js';

export type { MakeStores, StoreContractOptions } from './fixtures.test-helpers.js';
export { runKeyStoreContract, runRevocationStoreContract, runSessionStoreContract, runUserStoreContract };

export function runStoreContracts(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  runUserStoreContract(name, makeStores, options);
  runSessionStoreContract(name, makeStores, options);
  runKeyStoreContract(name, makeStores, options);
  runRevocationStoreContract(name, makeStores, options);
}
