/**
 * Where JSON.parse gave up on `text`, as 1-based line and column, or null when it parses.
 * V8's messages name a position for only some errors ("Unexpected token" quotes the text
 * instead), so the offset is found with JSON.parse itself: a prefix of valid JSON either
 * parses or fails only at its end, and every prefix of such a prefix does too, so a binary
 * search finds the first character no valid JSON can continue with.
 */
export function jsonErrorPosition(text: string): { line: number; column: number; offset: number; atEnd: boolean } | null {
  try {
    JSON.parse(text);
    return null;
  } catch {
    // found below
  }
  const viable = (k: number): boolean => {
    try {
      JSON.parse(text.slice(0, k));
      return true;
    } catch (err) {
      const message = (err as Error).message;
      if (/Unexpected end of JSON input/.test(message)) return true;
      const at = /at position (\d+)/.exec(message);
      return at !== null && Number(at[1]) >= k;
    }
  };
  let lo = 0; // viable
  let hi = text.length; // not viable (the whole text fails somewhere)
  if (viable(hi)) {
    lo = hi;
  } else {
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (viable(mid)) lo = mid;
      else hi = mid;
    }
  }
  // `lo` characters are a valid start; the one at `lo` (or the end of the text) is the error.
  const before = text.slice(0, lo);
  const line = before.split('\n').length;
  const column = lo - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column, offset: lo, atEnd: lo >= text.length };
}
