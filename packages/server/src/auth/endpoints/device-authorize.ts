import type { FastifyInstance } from 'fastify';
import { hashSecret } from '../../crypto/secrets.js';
import { grantableScopes, narrowScopes, parseScope } from '../../credentials/scope.js';
import { DEVICE_VERIFICATION_PATH } from '../../credentials/token-endpoint-metadata.js';
import { generateDeviceCode } from '../../credentials/token-formats.js';
import { GatehouseError } from '../../errors/index.js';
import { UserCodeTakenError } from '../../stores/types.js';
import { authenticateTokenClient } from '../client-auth.js';
import { deviceFlowClient, formatUserCode, generateUserCode, limitAuthorizePerIp } from '../device-flow.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { PUBLIC_LANE } from '../lanes.js';
import { OAUTH_JSON, readParams, type ParamSpec } from '../oauth.js';
import { type OperationDoc } from '../openapi.js';
import { checkDeviceField } from '../policy/device.js';

/** The parameters of POST /auth/device/authorize (form or JSON). */
export const deviceAuthorizeParams: Record<string, ParamSpec> = {
  client_id: { maxLength: 128 },
  // A confidential client may use the device flow too, with its secret (client_secret_post).
  client_secret: { maxLength: 1024 },
  scope: { maxLength: 4096 },
  device_name: { maxLength: 512 },
};

const DEVICE_AUTHORIZE_DOC: OperationDoc = {
  summary: 'Start the device authorization grant (RFC 8628): a device code to poll with and a user code to show',
  description:
    'For a client registered with the device_code grant: a public client names itself with client_id alone, a confidential one adds client_secret. The device shows user_code (or verification_uri_complete as a QR code) and polls POST /auth/token with grant_type=urn:ietf:params:oauth:grant-type:device_code every `interval` seconds.',
  answers: {
    200: {
      description: 'The device code, the user code and where the user confirms it.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['device_code', 'user_code', 'verification_uri', 'verification_uri_complete', 'expires_in', 'interval'],
        properties: {
          device_code: { type: 'string' },
          user_code: { type: 'string' },
          verification_uri: { type: 'string' },
          verification_uri_complete: { type: 'string' },
          expires_in: { type: 'integer' },
          interval: { type: 'integer' },
        },
      },
    },
  },
};

/** Tries this many user codes before giving up (two live requests share one with odds ~1e-10 each). */
const USER_CODE_TRIES = 5;

/**
 * POST /auth/device/authorize (RFC 8628 §3.1–3.2; form or JSON): for a client registered with
 * the device_code grant, a new pending request, `device.codeTtlSec` long: 200 {device_code,
 * user_code (XXXX-XXXX), verification_uri (<public URL>/device), verification_uri_complete,
 * expires_in, interval}. Only the device code's SHA-256 is stored. `scope` (default: every scope
 * the client may get) may only narrow the client's scopes; `device_name` is shown on the approval
 * page and becomes the session's device name.
 */
export function registerDeviceAuthorize(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post('/auth/device/authorize', { config: { lane: PUBLIC_LANE, oauthParams: deviceAuthorizeParams, openapi: DEVICE_AUTHORIZE_DOC } }, async (request, reply) => {
    const params = readParams(request.body, deviceAuthorizeParams);
    if (params.client_id === undefined) throw new GatehouseError('invalid_request', { detail: 'Missing parameter "client_id": the id of a client registered with the device_code grant.' });
    const client = await deviceFlowClient(deps, await authenticateTokenClient(deps, request, params), 'device_code');
    await limitAuthorizePerIp(deps, request);
    const deviceName = params.device_name === undefined ? null : checkDeviceField(params.device_name, 'device_name', 'name');
    const grantable = grantableScopes(deps.config);
    const scope = narrowScopes(params.scope === undefined ? undefined : parseScope(params.scope), client.scopes.filter((s) => grantable.includes(s))).join(' ');

    const { codeTtlSec, pollIntervalSec } = deps.config.device;
    const deviceCode = generateDeviceCode();
    const deviceCodeHash = hashSecret(deviceCode);
    let userCode: string | undefined;
    for (let i = 0; i < USER_CODE_TRIES && userCode === undefined; i++) {
      const candidate = generateUserCode();
      const now = deps.clock.now();
      try {
        await deps.stores.deviceCodes.create({
          deviceCodeHash,
          userCode: candidate,
          clientId: client.clientId,
          scope,
          deviceName,
          createdAt: now,
          expiresAt: now + codeTtlSec * 1000,
          intervalSec: pollIntervalSec,
          lastPollAt: null,
          status: 'pending',
          userId: null,
        });
        userCode = candidate;
      } catch (err) {
        if (!(err instanceof UserCodeTakenError)) throw err;
      }
    }
    if (userCode === undefined) throw new Error('no free user code after several tries');

    const base = (deps.config.publicUrl ?? '').replace(/\/+$/, '');
    const shown = formatUserCode(userCode);
    const verificationUri = `${base}${DEVICE_VERIFICATION_PATH}`;
    // Never the user code or the device code in the log: the hash names the request.
    deps.logger.info({ event: 'device.authorize', clientId: client.clientId, scope, deviceCodeHash, ip: clientIp(request) }, 'device authorization started');
    return reply
      .code(200)
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .type(OAUTH_JSON)
      .send(
        JSON.stringify({
          device_code: deviceCode,
          user_code: shown,
          verification_uri: verificationUri,
          verification_uri_complete: `${verificationUri}?user_code=${shown}`,
          expires_in: codeTtlSec,
          interval: pollIntervalSec,
        }),
      );
  });
}
