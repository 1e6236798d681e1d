/** `name` and `port` of a Host value (`[v6]` keeps its brackets); undefined when it is not `name[:digits]`. */
export function splitHost(host: string): { name: string; port: string } | undefined {
  let nameEnd: number;
  if (host.charCodeAt(0) === 91) {
    nameEnd = host.indexOf(']') + 1;
    if (nameEnd === 0) return undefined;
  } else {
    nameEnd = host.indexOf(':');
    if (nameEnd < 0) nameEnd = host.length;
  }
  const rest = host.slice(nameEnd);
  if (rest !== '' && !/^:[0-9]{1,5}$/.test(rest)) return undefined;
  return { name: host.slice(0, nameEnd), port: rest.slice(1) };
}

/** A `gateway.allowedHosts` entry is `"*"` or `name[:port]` (IPv6 in brackets); the reason when not. */
export function checkAllowedHost(entry: string): string | undefined {
  if (entry === '*') return undefined;
  let url: URL;
  try {
    url = new URL(`http://${entry}`);
  } catch {
    return 'is not a host name';
  }
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash || splitHost(entry.toLowerCase()) === undefined) return 'must be a host name with an optional port, nothing else';
  return undefined;
}
