import { createServiceApp, listen, passportOf } from '../common/service-app.js';
import type { RunningService, ServiceOptions } from '../service-options.js';

/** A personalised greeting, and `whoami`: the passport claims exactly as this service verified them. */
export async function startHomeService(options: ServiceOptions): Promise<RunningService> {
  const app = createServiceApp('home', options);

  app.get('/api/home', async (request) => {
    const passport = passportOf(request);
    // A service calling as itself (auth "client") has no username: greet it by its client id.
    if (passport.auth === 'client') return { greeting: `Hello, service ${passport.client_id}!`, client: { id: passport.client_id, scope: passport.scope ?? '' } };
    const { sub, username, roles } = passport;
    return { greeting: `Hello, ${username}!`, user: { id: sub, username, roles } };
  });

  app.get('/api/home/whoami', async (request) => passportOf(request));

  return listen(app, options);
}
