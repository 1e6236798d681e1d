/**
 * A software WebAuthn authenticator for tests (ES256, "none" attestation): it answers the
 * options the endpoints give with the JSON a browser would send, and can be told to lie (another
 * origin, RP id, challenge, an old counter). Test code only: production verification is
 * @simplewebauthn/server's.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoBase64URL, isoCBOR } from '@simplewebauthn/server/helpers';

const b64u = (b: Uint8Array | Buffer | string): string => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string): Buffer => createHash('sha256').update(b).digest();

export interface Lies {
  origin?: string;
  rpId?: string;
  challenge?: string;
  counter?: number;
  type?: string;
  userVerified?: boolean;
}

export class SoftAuthenticator {
  readonly credentialId = randomBytes(16);
  private readonly key: KeyObject;
  private readonly publicJwk: { x: string; y: string };
  counter = 0;
  userHandle: string | undefined;

  constructor(
    readonly rpId: string,
    readonly origin: string,
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.key = privateKey;
    this.publicJwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
  }

  get id(): string {
    return b64u(this.credentialId);
  }

  private authData(rpId: string, flags: number, counter: number, attested?: Uint8Array): Buffer {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), c, ...(attested ? [attested] : [])]);
  }

  private clientData(type: string, challenge: string, origin: string): string {
    return b64u(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** The answer to creation options: {challenge, user: {id}}. */
  register(options: { challenge: string; user: { id: string } }, lies: Lies = {}) {
    this.userHandle = options.user.id;
    const cose = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, isoBase64URL.toBuffer(this.publicJwk.x)],
      [-3, isoBase64URL.toBuffer(this.publicJwk.y)],
    ]);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([Buffer.alloc(16), len, this.credentialId, Buffer.from(isoCBOR.encode(cose))]);
    // UP | UV | BE | BS | AT: a synced passkey, backed up.
    const authData = this.authData(lies.rpId ?? this.rpId, 0x01 | 0x04 | 0x08 | 0x10 | 0x40, this.counter, attested);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', new Uint8Array(authData)]]) as never);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: this.clientData(lies.type ?? 'webauthn.create', lies.challenge ?? options.challenge, lies.origin ?? this.origin),
        attestationObject: b64u(attestationObject),
        transports: ['internal'],
      },
    };
  }

  /** The answer to request options: {challenge}; the counter grows by one unless told otherwise. */
  assert(options: { challenge: string }, lies: Lies = {}) {
    this.counter = lies.counter ?? this.counter + 1;
    const flags = 0x01 | (lies.userVerified === false ? 0 : 0x04) | 0x08 | 0x10;
    const authData = this.authData(lies.rpId ?? this.rpId, flags, this.counter);
    const clientDataJSON = this.clientData(lies.type ?? 'webauthn.get', lies.challenge ?? options.challenge, lies.origin ?? this.origin);
    const signature = sign('sha256', Buffer.concat([authData, sha256(Buffer.from(clientDataJSON, 'base64url'))]), this.key);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON, authenticatorData: b64u(authData), signature: b64u(signature), ...(this.userHandle ? { userHandle: this.userHandle } : {}) },
    };
  }
}
