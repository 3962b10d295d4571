import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';

// A citation must be a path a reader of this repository can open (docs/style.md §3, "Comments"): the contract and
// the style guide once lived outside it, and "SPEC §2" sent readers nowhere.
const SELF = 'test/docs/citations.test.ts';
const SKIP_DIRS = new Set(['node_modules', 'dist', 'data', '.git', '.tmp', 'test-results']);

/** The files git tracks or would track (untracked but not ignored), else every file outside the build folders. */
function repositoryFiles(): string[] {
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' });
    return [...new Set(out.split('\0').filter((path) => path !== '' && existsSync(path)))];
  } catch {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory() && !SKIP_DIRS.has(entry.name)) walk(join(dir, entry.name));
        else if (entry.isFile()) files.push(relative('.', join(dir, entry.name)));
      }
    };
    walk('.');
    return files;
  }
}

interface TextFile {
  path: string;
  lines: string[];
}

function textFiles(): TextFile[] {
  const files: TextFile[] = [];
  for (const path of repositoryFiles()) {
    if (path === 'package-lock.json') continue;
    const bytes = readFileSync(path);
    if (bytes.includes(0)) continue; // binary (images)
    files.push({ path, lines: bytes.toString('utf8').split('\n') });
  }
  return files;
}

/** The numbered sections of a page: headings such as "## 3. HTTP API". */
function sectionsOf(page: string): Set<string> {
  return new Set([...readFileSync(page, 'utf8').matchAll(/^#{1,6}\s+(\d+)\./gm)].map((m) => m[1] as string));
}

/** Every match of a global pattern in a file, with its 1-based line. */
function* matches(file: TextFile, pattern: RegExp): Generator<{ where: string; match: RegExpMatchArray }> {
  for (const [i, line] of file.lines.entries()) {
    for (const match of line.matchAll(pattern)) yield { where: `${file.path}:${i + 1}`, match };
  }
}

// "docs/spec.md §1", "docs/spec.md §1, §6", "docs/spec.md §2–§3"; not part of a longer path such as a URL's.
const CITATION = /(?<![\w/.-])(docs\/[\w.-]+\.md) (§\d+(?:(?:, |–|-| and )§\d+)*)/g;
const DOCS_PATH = /(?<![\w/.-])docs\/[\w.-]+\.md/g;
// A section cited by a name that is no path: the old SPEC and STYLE documents.
const BARE_NAME = /\b(?:SPEC|STYLE)\s*§/g;
const OUTSIDE = /\.\.\/shared\b|\bshared\/(?:SPEC|STYLE)\.md/g;
// A relative link between pages: [text](errors.md#codes).
const PAGE_LINK = /\]\(([\w.-]+\.md)(?:#[^)]*)?\)/g;

describe('citations', () => {
  const files = textFiles();
  const sections = new Map<string, Set<string>>();
  const sectionsFor = (page: string): Set<string> => {
    let known = sections.get(page);
    if (!known) {
      known = sectionsOf(page);
      sections.set(page, known);
    }
    return known;
  };

  test('no file cites a document outside the repository', () => {
    const found = files.filter((f) => f.path !== SELF).flatMap((f) => [...matches(f, OUTSIDE)].map((m) => `${m.where}: ${m.match[0]}`));
    assert.deepEqual(found, []);
  });

  test('every section is cited with the page that holds it (docs/spec.md §n, not SPEC §n)', () => {
    const found = files.filter((f) => f.path !== SELF).flatMap((f) => [...matches(f, BARE_NAME)].map((m) => `${m.where}: ${m.match[0]}`));
    assert.deepEqual(found, []);
  });

  test('every docs/*.md path named anywhere exists', () => {
    const missing = files.flatMap((f) =>
      [...matches(f, DOCS_PATH)].filter((m) => !existsSync(m.match[0])).map((m) => `${m.where}: ${m.match[0]}`),
    );
    assert.deepEqual(missing, []);
  });

  test('every cited section exists in its page', () => {
    const missing: string[] = [];
    for (const file of files) {
      for (const { where, match } of matches(file, CITATION)) {
        const page = match[1] as string;
        if (!existsSync(page)) continue; // reported by the test above
        for (const [, n] of (match[2] as string).matchAll(/§(\d+)/g)) {
          if (!sectionsFor(page).has(n as string)) missing.push(`${where}: ${page} §${n}`);
        }
      }
    }
    assert.deepEqual(missing, []);
  });

  test('a bare § in docs/spec.md or docs/style.md names a section of the same page', () => {
    const missing: string[] = [];
    for (const page of ['docs/spec.md', 'docs/style.md']) {
      const file = files.find((f) => f.path === page);
      assert.ok(file, `${page} is in the repository`);
      for (const { where, match } of matches(file, /(?<!\.md )§(\d+)/g)) {
        if (!sectionsFor(page).has(match[1] as string)) missing.push(`${where}: ${match[0]}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('every link from one page of docs/ to another opens a page that exists', () => {
    const missing: string[] = [];
    for (const file of files.filter((f) => /^docs\/[^/]+\.md$/.test(f.path))) {
      for (const { where, match } of matches(file, PAGE_LINK)) {
        if (!existsSync(join(dirname(file.path), match[1] as string))) missing.push(`${where}: ${match[1]}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('the checks see a real citation and would see a bad one', () => {
    assert.ok(sectionsFor('docs/spec.md').has('1'), 'docs/spec.md has numbered sections');
    assert.equal([...'(docs/spec.md §2–§3)'.matchAll(CITATION)][0]?.[2], '§2–§3');
    assert.equal([...'see SPEC §2'.matchAll(BARE_NAME)].length, 1);
    assert.equal([...'https://example.org/docs/x.md'.matchAll(DOCS_PATH)].length, 0);
  });
});
