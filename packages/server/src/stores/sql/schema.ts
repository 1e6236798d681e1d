import type { Generated } from 'kysely';

/**
 * Table shapes shared by every SQL backend (SQLite now, PostgreSQL later). Times are integer
 * epoch milliseconds; JSON is stored as text; booleans as 0/1 so the schema is portable.
 * Integers may come back as strings from some drivers (PostgreSQL int8), so readers use `num()`.
 */
export interface UsersTable {
  id: string;
  username: string;
  username_canonical: string;
  /** UTS #39 skeleton of the username as typed (`usernameSkeleton`, migrations 0004, 0005); indexed, not unique. */
  username_skeleton: string | null;
  password_hash: string;
  /** JSON array of strings. */
  roles: string;
  created_at: number;
  updated_at: number;
  /** When an admin disabled the account (ms); null: enabled (migration 0013). */
  disabled_at: number | null;
  /** 0 or 1 (migration 0014): the next sign-in must choose a new password. */
  password_change_required: Generated<number>;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  device_id: string;
  device_name: string | null;
  csrf_token: string;
  /** 0 or 1. */
  persistent: number;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  absolute_expires_at: number;
  /** Space-separated scopes of a token session (migration 0002); null for browser sessions. */
  scope: string | null;
  /** RFC 8176 methods, space-separated (migration 0010); null only before the migration filled it ('pwd'). */
  amr: string | null;
  /** When the user last authenticated on this session, ms (0010); null only before the migration filled it (created_at). */
  auth_time: number | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  /** JSON of the public JWK. */
  public_jwk: string;
  /** Compact JWE of the private JWK (never the key itself). */
  private_jwe: string;
  created_at: number;
  activates_at: number;
  retires_at: number | null;
  expires_at: number | null;
}

export interface RevocationsTable {
  seq: Generated<number>;
  /** JSON of the RevocationEvent. */
  event: string;
  at: number;
  keep_until: number;
}

export interface RefreshTokensTable {
  /** SHA-256 (base64url) of the refresh token; primary key. */
  token_hash: string;
  /** References sessions.id, on delete cascade. */
  session_id: string;
  created_at: number;
  /** null while the token is current. */
  rotated_at: number | null;
  /** The OAuth client it was issued to (0007); null for the first-party client. */
  client_id: string | null;
}

export interface DeviceCodesTable {
  /** SHA-256 (base64url) of the device code; primary key. */
  device_code_hash: string;
  /** Normalised (8 letters, no dash); unique (an expired holder is removed before a reuse). */
  user_code: string;
  client_id: string;
  scope: string;
  device_name: string | null;
  created_at: number;
  expires_at: number;
  interval_sec: number;
  last_poll_at: number | null;
  /** 'pending' | 'approved' | 'denied' | 'redeemed'. */
  status: string;
  user_id: string | null;
  /** The approving session's amr, space-separated (migration 0010); null when not recorded. */
  approved_amr: string | null;
  /** The approving session's auth_time, ms (0010); null when not recorded. */
  approved_auth_time: number | null;
}

export interface ApiTokensTable {
  id: string;
  /** References users.id, on delete cascade. */
  user_id: string;
  name: string;
  /** SHA-256 (base64url) of the token; unique. */
  token_hash: string;
  /** JSON array of strings. */
  scopes: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

export interface OauthClientsTable {
  client_id: string;
  name: string;
  /** 'public' or 'confidential'. */
  type: string;
  /** JSON arrays of strings. */
  grants: string;
  scopes: string;
  audiences: string;
  service: string | null;
  /** JSON array of { hash, createdAt, notAfter } (SHA-256 hashes only, never a secret). */
  secrets: string;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
}

export interface AuditEventsTable {
  /** Insertion order (ties of `at` list the later append first). */
  seq: Generated<number>;
  id: string;
  /**
   * The account's id; null for events without a known account; `deleted:<pseudonym>` once the
   * account was deleted (migration 0013 dropped the foreign key: the events outlive the user).
   */
  user_id: string | null;
  type: string;
  at: number;
  ip: string | null;
  device_id: string | null;
  user_agent: string | null;
  /** JSON object of strings, numbers and booleans, or null. */
  detail: string | null;
}

export interface IdentitiesTable {
  /** With subject, the primary key. */
  provider: string;
  subject: string;
  /** References users.id, on delete cascade. */
  user_id: string;
  email: string | null;
  /** Trimmed, lower-cased email (canonicalEmail); indexed. */
  email_canonical: string | null;
  /** 0 or 1. */
  email_verified: number;
  created_at: number;
  last_used_at: number;
}

export interface TotpFactorsTable {
  /** Primary key; references users.id, on delete cascade. */
  user_id: string;
  /** Compact JWE of the secret (never the secret). */
  secret_jwe: string;
  created_at: number;
  confirmed_at: number | null;
  last_step: number | null;
}

export interface RecoveryCodesTable {
  /** SHA-256 (base64url) of the normalised code; with user_id, the primary key. */
  code_hash: string;
  user_id: string;
  created_at: number;
  used_at: number | null;
}

export interface MfaTicketsTable {
  /** SHA-256 (base64url) of the ticket; primary key. */
  ticket_hash: string;
  user_id: string;
  via: string;
  device_id: string | null;
  device_name: string | null;
  /** 0 or 1. */
  persistent: number;
  client_id: string | null;
  scope: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface WebauthnCredentialsTable {
  /** The credential id (base64url); primary key. */
  credential_id: string;
  /** References users.id, on delete cascade. */
  user_id: string;
  /** COSE public key, base64url. */
  public_key: string;
  counter: number;
  /** JSON array of strings. */
  transports: string;
  /** 'singleDevice' | 'multiDevice'. */
  device_type: string;
  /** 0 or 1. */
  backed_up: number;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

export interface WebauthnChallengesTable {
  /** SHA-256 (base64url) of the challenge; primary key. */
  challenge_hash: string;
  /** 'registration' | 'authentication'. */
  kind: string;
  user_id: string | null;
  created_at: number;
  expires_at: number;
  /** null until taken (single use by compare-and-swap). */
  used_at: number | null;
}

/** Usernames of deleted accounts, held back from sign-up and rename until `until` (migration 0013). */
export interface UsernameQuarantineTable {
  username_canonical: string;
  /** UTS #39 skeleton of the name as it was shown (`usernameSkeleton`). */
  skeleton: string;
  until: number;
}

export interface UserEmailsTable {
  /** Primary key (one address per user); references users.id, on delete cascade. */
  user_id: string;
  /** As the user typed it (trimmed). */
  address: string;
  /** Trimmed and lower-cased: what a forgotten-password request by email looks up. */
  address_canonical: string;
  created_at: number;
  /** null until a verification link for this very address was used. */
  verified_at: number | null;
}

export interface EmailTokensTable {
  /** SHA-256 (base64url) of the token; primary key. Never the token. */
  token_hash: string;
  user_id: string;
  /** 'verify' | 'reset'. */
  purpose: string;
  /** The address a verify token is for; null for reset. */
  address: string | null;
  created_at: number;
  expires_at: number;
  /** null until used (single use by compare-and-swap). */
  used_at: number | null;
}

export interface GatehouseDb {
  users: UsersTable;
  sessions: SessionsTable;
  signing_keys: SigningKeysTable;
  revocations: RevocationsTable;
  refresh_tokens: RefreshTokensTable;
  api_tokens: ApiTokensTable;
  audit_events: AuditEventsTable;
  oauth_clients: OauthClientsTable;
  device_codes: DeviceCodesTable;
  identities: IdentitiesTable;
  totp_factors: TotpFactorsTable;
  recovery_codes: RecoveryCodesTable;
  mfa_tickets: MfaTicketsTable;
  webauthn_credentials: WebauthnCredentialsTable;
  webauthn_challenges: WebauthnChallengesTable;
  username_quarantine: UsernameQuarantineTable;
  user_emails: UserEmailsTable;
  email_tokens: EmailTokensTable;
}

/** Integer column value as a number (drivers may hand back bigint or string). */
export function num(v: number | bigint | string): number {
  return typeof v === 'number' ? v : Number(v);
}

export function numOrNull(v: number | bigint | string | null): number | null {
  return v === null ? null : num(v);
}
