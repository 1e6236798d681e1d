import type { RouteConfig } from '../config/types.js';

/** The demo routes of `gatehouse start` (DESIGN §3), pointed at the demo services' internal URLs. */
export function demoRoutes(urls: { notes: string; home: string; admin: string }): RouteConfig[] {
  return [
    { path: '/api/notes', upstream: urls.notes, service: 'notes', auth: 'required', scopes: { GET: ['notes:read'], HEAD: ['notes:read'], '*': ['notes:write'] } },
    { path: '/api/home', upstream: urls.home, service: 'home', auth: 'required' },
    { path: '/api/admin', upstream: urls.admin, service: 'admin', auth: 'required', roles: ['admin'] },
  ];
}
