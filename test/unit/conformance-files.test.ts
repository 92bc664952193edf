import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readConformanceFiles } from '../../src/conformance/files.js';

describe('reading conformance files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'phb-profiles-'));
    await mkdir(path.join(dir, 'codesystems'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const good = {
    resourceType: 'CodeSystem',
    id: 'x',
    url: 'https://example.org/CodeSystem/x',
    status: 'active',
    content: 'complete',
  };

  async function expectFailure(name: string, content: string, reason: RegExp): Promise<void> {
    await writeFile(path.join(dir, 'codesystems', name), content);
    await expect(readConformanceFiles(dir)).rejects.toThrow(new RegExp(`^codesystems/${name}: ${reason.source}`));
  }

  it('reads nested JSON files with their relative paths', async () => {
    await writeFile(path.join(dir, 'codesystems', 'x.json'), JSON.stringify(good));
    await writeFile(path.join(dir, 'README.md'), 'not a resource');
    const files = await readConformanceFiles(dir);
    expect(files.map((f) => f.file)).toEqual(['codesystems/x.json']);
  });

  it('names the file and the reason for malformed JSON', () =>
    expectFailure('bad.json', '{"resourceType": ', /is not valid JSON/));
  it('refuses kinds that are not conformance resources', () =>
    expectFailure('p.json', JSON.stringify({ ...good, resourceType: 'Patient' }), /resourceType must be one of/));
  it('refuses a missing or invalid id', () =>
    expectFailure('noid.json', JSON.stringify({ ...good, id: 'has space' }), /id is missing/));
  it('refuses a missing canonical url', () =>
    expectFailure('nourl.json', JSON.stringify({ ...good, url: undefined }), /url \(the canonical URL\)/));
  it('refuses two files defining the same resource', async () => {
    await writeFile(path.join(dir, 'codesystems', 'a.json'), JSON.stringify(good));
    await expectFailure(
      'b.json',
      JSON.stringify(good),
      /duplicates CodeSystem\/x already defined in codesystems\/a.json/,
    );
  });
});
