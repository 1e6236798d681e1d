import { ConfigError } from '../../../config/config-error.js';
import type { GatehouseConfig } from '../../../config/types.js';
import type { FederationProvider } from '../identity.js';
import { GithubProvider } from './github.js';
import { OidcProvider } from './oidc.js';

/**
 * The configured providers (`federation.providers`), built once at start. Building fetches
 * nothing: an OIDC provider discovers on its first sign-in (or on `warmUp`) and tries again
 * after a failure, so a provider that is down at start costs no restart.
 */
export class FederationProviders {
  private readonly byId: ReadonlyMap<string, FederationProvider>;

  constructor(readonly list: readonly FederationProvider[]) {
    this.byId = new Map(list.map((p) => [p.id, p]));
  }

  /** The provider of a URL's `:provider` segment, or undefined (404 for the caller). */
  get(id: string): FederationProvider | undefined {
    return this.byId.get(id);
  }

  /** Starts every OIDC discovery now, so the first sign-in does not wait for it. Never throws (a failure is retried at the next sign-in); resolves to the ids that failed. */
  async warmUp(): Promise<string[]> {
    const results = await Promise.all(
      this.list.map(async (p) => {
        if (!(p instanceof OidcProvider)) return undefined;
        return p.configuration().then(
          () => undefined,
          () => p.id,
        );
      }),
    );
    return results.filter((id): id is string => id !== undefined);
  }
}

/**
 * Builds the providers from the config. The client secret comes from the config file or from the
 * environment variable `clientSecretEnv` names (checked at load too; checked again here, as the
 * environment is read now): a missing one throws a ConfigError naming the variable, never a value.
 */
export function buildFederationProviders(config: GatehouseConfig, env: NodeJS.ProcessEnv = process.env): FederationProviders {
  const { providers, timeoutMs } = config.federation;
  return new FederationProviders(
    providers.map((p) => {
      const clientSecret = p.clientSecret ?? (p.clientSecretEnv === undefined ? undefined : env[p.clientSecretEnv]);
      if (!clientSecret) {
        throw new ConfigError(
          `federation provider "${p.id}": its client secret is missing; set the environment variable ${p.clientSecretEnv ?? '(named by clientSecretEnv)'} to the secret the provider gave you.`,
        );
      }
      const options = { config: p, clientSecret, timeoutMs };
      return p.type === 'oidc' ? new OidcProvider(options) : new GithubProvider(options);
    }),
  );
}
