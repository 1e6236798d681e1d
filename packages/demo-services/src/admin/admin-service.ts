import { hasRole } from '@gatehouse/sdk';
import { ServiceError } from '../common/problem.js';
import { createServiceApp, listen, passportOf } from '../common/service-app.js';
import type { RunningService, ServiceOptions } from '../service-options.js';

export const ADMIN_ROLE = 'admin';

/** Role-gated: the gateway checks the role, and this service checks it again (defence in depth). */
export async function startAdminService(options: ServiceOptions): Promise<RunningService> {
  const app = createServiceApp('admin', options);

  app.get('/api/admin', async (request) => {
    const passport = passportOf(request);
    if (!hasRole(passport, ADMIN_ROLE)) throw new ServiceError('forbidden', 'The admin role is required.');
    return { ok: true, admin: passport.username };
  });

  return listen(app, options);
}
