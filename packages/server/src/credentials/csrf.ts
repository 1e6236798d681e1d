/**
 * The methods whose cookie-authenticated requests need the CSRF token: the gateway enforces it
 * (gateway/pipeline/csrf), the auth service's OpenAPI document states it (auth/openapi.ts).
 */
export function csrfProtects(method: string | undefined): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE';
}
