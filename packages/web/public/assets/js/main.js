// @ts-check
/**
 * Gatehouse web pages: the one module entry of every page (native ES modules from 'self',
 * no build step, no dependencies). The page it drives is named by
 * <body data-page="signin|signup|home|notes|account|device|forgot|reset|verify|admin-users|admin-user|
 * admin-audit">.
 */
import { initAccount } from './account.js';
import { initAdminAudit } from './admin-audit.js';
import { initAdminUser } from './admin-user.js';
import { initAdminUsers } from './admin-users.js';
import { initDevice } from './device.js';
import { initForgot } from './forgot.js';
import { initHome } from './home.js';
import { initNotes } from './notes.js';
import { initReset } from './reset.js';
import { initSignin } from './signin.js';
import { initSignup } from './signup.js';
import { initVerify } from './verify.js';

/** @type {Record<string, () => void>} */
const PAGES = {
  signin: initSignin,
  signup: initSignup,
  home: initHome,
  notes: initNotes,
  account: initAccount,
  device: initDevice,
  forgot: initForgot,
  reset: initReset,
  verify: initVerify,
  'admin-users': initAdminUsers,
  'admin-user': initAdminUser,
  'admin-audit': initAdminAudit,
};

function start() {
  const page = document.body && document.body.dataset.page;
  const init = page !== undefined && Object.prototype.hasOwnProperty.call(PAGES, page) ? PAGES[page] : undefined;
  if (init) init();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
