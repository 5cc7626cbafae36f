/**
 * The repository is self-contained: no tracked file cites the development notes outside it (a `shared/`
 * directory), and every link into docs/definitions.md or docs/runbook.md names a section that exists there.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** Tracked files as text (binary files, with a NUL byte, are skipped). */
function trackedTextFiles(): { path: string; text: string }[] {
  const out = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  return out
    .split('\0')
    .filter((p) => p !== '')
    .flatMap((path) => {
      let text: string;
      try {
        text = readFileSync(join(root, path), 'utf8');
      } catch {
        return []; // listed in the index but deleted in the work tree
      }
      return text.includes('\0') ? [] : [{ path, text }];
    });
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

describe('documentation links', () => {
  const files = trackedTextFiles();

  it('finds the tracked files', () => {
    expect(files.map((f) => f.path)).toContain('docs/definitions.md');
    expect(files.length).toBeGreaterThan(50);
  });

  it('no tracked file cites a shared/ directory outside the repository', () => {
    const cite = /(^|[^a-z])shared\/[A-Za-z]/;
    const hits = files.flatMap(({ path, text }) =>
      text.split('\n').flatMap((line, i) => (cite.test(line) ? [`${path}:${i + 1}: ${line.trim().slice(0, 120)}`] : [])),
    );
    expect(hits).toEqual([]);
  });

  for (const doc of ['definitions', 'runbook']) {
    it(`every link to a section of docs/${doc}.md names an existing heading`, () => {
      const text = files.find((f) => f.path === `docs/${doc}.md`)!.text;
      const anchors = new Set(
        text
          .split('\n')
          .filter((l) => /^#{1,6} /.test(l))
          .map((l) => headingAnchor(l.replace(/^#+ /, ''))),
      );
      expect(anchors.size).toBeGreaterThan(8);
      const broken: string[] = [];
      let links = 0;
      for (const { path, text: t } of files) {
        for (const m of t.matchAll(new RegExp(`${doc}\\.md#([A-Za-z0-9_-]+)`, 'g'))) {
          links++;
          if (!anchors.has(m[1]!)) broken.push(`${path}: #${m[1]}`);
        }
      }
      expect(broken).toEqual([]);
      expect(links).toBeGreaterThan(doc === 'definitions' ? 40 : 8);
    });
  }
});
