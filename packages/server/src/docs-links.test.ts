/**
 * Issue 12: the README linked the design contract at `../shared/DESIGN.md`, outside the
 * repository (a dead link for everyone who clones it). Every relative link of the
 * repository's Markdown must name a file or folder inside the repository that exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

const SKIP = new Set(['node_modules', 'dist', '.git', 'data', 'test-artifacts', 'coverage']);

/** The repository's Markdown files (build output, dependencies and data folders left out). */
function markdownFiles(dir = REPO): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...markdownFiles(path));
    else if (entry.isFile() && entry.name.endsWith('.md')) out.push(relative(REPO, path));
  }
  return out;
}

/** Relative link targets: `[text](target)` and reference-style `[name]` used as a bare path. */
function relativeLinks(text: string): string[] {
  const body = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  const links: string[] = [];
  for (const m of body.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) links.push(m[1]!);
  // `[../x.md]` with no target renders as text that looks like a link: a path in brackets.
  for (const m of body.matchAll(/\[((?:\.\.?\/)[^\]\s]+)\](?!\()/g)) links.push(m[1]!);
  return links.filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l) && !l.startsWith('#'));
}

describe('Markdown links', () => {
  it('every relative link points to a file inside the repository', () => {
    const files = markdownFiles();
    expect(files).toContain('README.md');
    const bad: string[] = [];
    for (const file of files) {
      for (const link of relativeLinks(readFileSync(join(REPO, file), 'utf8'))) {
        const path = decodeURIComponent(link.split('#')[0]!);
        if (path === '') continue;
        const target = resolve(REPO, dirname(file), path);
        const inside = !relative(REPO, target).startsWith('..');
        if (!inside || !existsSync(target)) bad.push(`${file}: ${link}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
