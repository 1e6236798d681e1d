import nodemailer from 'nodemailer';
import type { Deps } from '../../context.js';
import type { GatehouseConfig } from '../../config/types.js';
import { GatehouseError } from '../../errors/index.js';
import { authMetricsOf, type EmailKind } from '../auth-metrics.js';

/** One plain-text mail. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/**
 * Where mail goes: the one place that talks to an SMTP server (nodemailer). Everything else
 * sends through `mailOf(deps)`, which counts, logs and never waits past `email.sendTimeoutMs`.
 */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/** A Mailer on `email.smtpUrl` (null when unset: no mail). One connection per mail, no pool. */
export function createSmtpMailer(config: GatehouseConfig): Mailer | null {
  const url = config.email.smtpUrl;
  if (url === null) return null;
  const timeout = config.email.sendTimeoutMs;
  // The URL's options, with our timeouts: a slow or silent SMTP server never holds a request (or a socket) for long.
  const transport = nodemailer.createTransport({ url, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout }, { from: senderOf(config) });
  return {
    async send(message) {
      await transport.sendMail({ to: message.to, subject: message.subject, text: message.text });
    },
    close() {
      transport.close();
    },
  };
}

/** `email.from`, or `Gatehouse <no-reply@HOST>` with the host of publicUrl. */
export function senderOf(config: GatehouseConfig): string {
  if (config.email.from !== null) return config.email.from;
  let host = 'localhost';
  try {
    if (config.publicUrl) host = new URL(config.publicUrl).hostname;
  } catch {
    // keep localhost
  }
  return `Gatehouse <no-reply@${host}>`;
}

/** The base URL links in mails start with: publicUrl (start fills it with the local URL when unset). */
export function linkBase(config: GatehouseConfig): string {
  return (config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/+$/, '');
}

/** What a failed send is logged with: never the message (it may hold a link), the address or the SMTP URL. */
function failureOf(err: unknown): Record<string, unknown> {
  const e = (err ?? {}) as { code?: unknown; command?: unknown; responseCode?: unknown; name?: unknown };
  return {
    type: typeof e.name === 'string' ? e.name : 'Error',
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.command === 'string' ? { command: e.command } : {}),
    ...(typeof e.responseCode === 'number' ? { responseCode: e.responseCode } : {}),
  };
}

/**
 * Sending mail for one Deps: counted (`gatehouse_emails_total{kind,outcome}`), a failure logged
 * at warn (kind, user, the SMTP error's code: never the link, the text or the address), and
 * bounded in time. Background sends are tracked so a closing service (and a test) can wait for them.
 */
export class MailService {
  private readonly pending = new Set<Promise<unknown>>();
  private mailer: Mailer | null | undefined;

  constructor(private readonly deps: Deps) {}

  private get smtp(): Mailer | null {
    if (this.mailer === undefined) this.mailer = createSmtpMailer(this.deps.config);
    return this.mailer;
  }

  /** Whether mail can be sent at all (`email.smtpUrl` is set). */
  get configured(): boolean {
    return this.deps.config.email.smtpUrl !== null;
  }

  /** Sends now and waits: true when the SMTP server took it; false (logged, counted) when not. */
  async send(kind: EmailKind, userId: string, message: MailMessage): Promise<boolean> {
    const smtp = this.smtp;
    if (smtp === null) return false;
    const metrics = authMetricsOf(this.deps);
    const limit = this.deps.config.email.sendTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        smtp.send(message),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error('SMTP send timed out'), { code: 'ETIMEDOUT' })), limit);
        }),
      ]);
      metrics.email(kind, 'sent');
      this.deps.logger.info({ event: 'email.sent', kind, userId }, 'mail sent');
      return true;
    } catch (err) {
      metrics.email(kind, 'failed');
      this.deps.logger.warn({ event: 'email.failed', kind, userId, error: failureOf(err) }, 'mail could not be sent; the SMTP server refused it or did not answer (email.smtpUrl)');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends, or throws 503 email_unavailable: where the mail is the whole point of the request. */
  async sendOrFail(kind: EmailKind, userId: string, message: MailMessage): Promise<void> {
    if (!this.configured) {
      throw new GatehouseError('email_unavailable', { detail: 'This server sends no mail (email.smtpUrl is not set). Ask an operator to configure SMTP.' });
    }
    if (!(await this.send(kind, userId, message))) {
      throw new GatehouseError('email_unavailable', { detail: 'The mail server did not take the message. Nothing was changed; try again later.' });
    }
  }

  /** Runs `work` (which may send) without making the caller wait; errors are logged. */
  background(work: () => Promise<unknown>): void {
    const p = work().catch((err: unknown) => this.deps.logger.error({ err: failureOf(err) }, 'background mail work failed'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Waits for the background work started so far. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Waits for background work, then drops the SMTP transport. */
  async close(): Promise<void> {
    await this.settle();
    this.mailer?.close();
    this.mailer = undefined;
  }
}

const byDeps = new WeakMap<Deps, MailService>();

/** This Deps' mail service (created on first use). */
export function mailOf(deps: Deps): MailService {
  let m = byDeps.get(deps);
  if (m === undefined) byDeps.set(deps, (m = new MailService(deps)));
  return m;
}
