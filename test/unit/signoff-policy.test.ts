import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { ConfigFileError } from '../../src/config/configFileError.js';
import { loadPolicy, parsePolicy, policyPath, POLICIES_DIR } from '../../src/config/policy.js';
import { requiredSigners } from '../../src/domain/signoff/signers.js';

const FILE = 'policies/test-policy.json';

/** A sound policy to break one field at a time. */
function good(): Record<string, unknown> {
  return {
    id: 'test-policy',
    version: '1',
    organisation: { id: 'test-icb', name: 'Test ICB' },
    tiers: [
      { upTo: 25000, signers: ['care-coordinator'] },
      { upTo: 75000, signers: ['care-coordinator', 'team-lead'] },
      { signers: ['lived-experience-reviewer', 'phb-lead-clinician', 'commissioner'] },
    ],
  };
}

function policyError(document: unknown): ConfigFileError {
  try {
    parsePolicy(typeof document === 'string' ? document : JSON.stringify(document), FILE);
  } catch (e) {
    if (e instanceof ConfigFileError) return e;
    throw e;
  }
  throw new Error('expected a ConfigFileError');
}

describe('policy documents in policies/', () => {
  it('ship City and Hackney (the default) and Merseyside, both valid', () => {
    expect(loadConfig({}).signOffPolicy).toBe('city-and-hackney');
    expect(loadConfig({ SIGN_OFF_POLICY: 'merseyside' }).signOffPolicy).toBe('merseyside');
    expect(loadPolicy('city-and-hackney')).toMatchObject({
      id: 'city-and-hackney',
      tiers: [{ upTo: 25000 }, { upTo: 75000 }, { name: 'e-approval panel' }],
    });
    expect(loadPolicy('merseyside')).toMatchObject({
      id: 'merseyside',
      appliesTo: ['one-off'],
      itemLimits: [{ kind: 'one-off', upTo: 45000 }],
    });
  });

  it('are found by name in policies/, or by path', () => {
    expect(policyPath('merseyside')).toBe(path.join(POLICIES_DIR, 'merseyside.json'));
    expect(policyPath('/etc/phb/policy.json')).toBe('/etc/phb/policy.json');
    expect(policyPath('./local.json')).toBe(path.resolve('local.json'));
  });

  it('let a new organisation express its own rules without a code change', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'phb-policy-'));
    try {
      const file = path.join(dir, 'elsewhere.json');
      await writeFile(
        file,
        JSON.stringify({
          id: 'elsewhere',
          version: '2025-04',
          organisation: { id: 'elsewhere', name: 'Elsewhere ICB' },
          tiers: [{ upTo: 100000, signers: ['team-lead'] }, { signers: ['commissioner', 'phb-lead-clinician'] }],
          itemLimits: [{ kind: 'ongoing', upTo: 500000 }],
        }),
      );
      const policy = loadPolicy(file);
      expect(requiredSigners(policy, { amount: 100000, category: 'therapy', kind: 'one-off' })).toMatchObject({
        roles: ['team-lead'],
      });
      expect(requiredSigners(policy, { amount: 100001, category: 'therapy', kind: 'one-off' })).toMatchObject({
        roles: ['commissioner', 'phb-lead-clinician'],
      });
      expect(requiredSigners(policy, { amount: 500001, category: 'therapy', kind: 'ongoing' })).toMatchObject({
        outcome: 'refused',
        rule: 'item-limit',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a bad policy document is refused naming the file and the field', () => {
  it.each([
    [
      'tiers descending',
      (p: Record<string, unknown>) => {
        p.tiers = [
          { upTo: 75000, signers: ['team-lead'] },
          { upTo: 25000, signers: ['care-coordinator'] },
          { signers: ['commissioner'] },
        ];
      },
      '/tiers/1/upTo',
      /tiers must ascend: £250\.00 is not above the tier before \(£750\.00\)/,
    ],
    [
      'tiers repeating an amount',
      (p: Record<string, unknown>) => {
        p.tiers = [
          { upTo: 25000, signers: ['team-lead'] },
          { upTo: 25000, signers: ['care-coordinator'] },
          { signers: ['commissioner'] },
        ];
      },
      '/tiers/1/upTo',
      /tiers must ascend/,
    ],
    [
      'an unknown role',
      (p: Record<string, unknown>) => {
        p.tiers = [{ signers: ['finance-director'] }];
      },
      '/tiers/0/signers/0',
      /must be one of care-coordinator, team-lead/,
    ],
    [
      'a missing field',
      (p: Record<string, unknown>) => {
        delete p.version;
      },
      '/version',
      /is required/,
    ],
    [
      'a missing organisation name',
      (p: Record<string, unknown>) => {
        p.organisation = { id: 'x' };
      },
      '/organisation/name',
      /is required/,
    ],
    [
      'non-integer pence',
      (p: Record<string, unknown>) => {
        p.tiers = [{ upTo: 250.5, signers: ['care-coordinator'] }, { signers: ['team-lead'] }];
      },
      '/tiers/0/upTo',
      /must be integer/,
    ],
    [
      'pence written as a string',
      (p: Record<string, unknown>) => {
        p.itemLimits = [{ kind: 'one-off', upTo: '45000' }];
      },
      '/itemLimits/0/upTo',
      /must be integer/,
    ],
    [
      'a last tier with an upper limit',
      (p: Record<string, unknown>) => {
        p.tiers = [{ upTo: 25000, signers: ['care-coordinator'] }];
      },
      '/tiers/0/upTo',
      /the last tier must have no upper limit/,
    ],
    [
      'an unbounded tier before the last',
      (p: Record<string, unknown>) => {
        p.tiers = [{ signers: ['care-coordinator'] }, { signers: ['team-lead'] }];
      },
      '/tiers/0/upTo',
      /only the last tier may be unbounded/,
    ],
    [
      'no tiers',
      (p: Record<string, unknown>) => {
        p.tiers = [];
      },
      '/tiers',
      /must NOT have fewer than 1 items/,
    ],
    [
      'a tier nobody signs',
      (p: Record<string, unknown>) => {
        p.tiers = [{ signers: [] }];
      },
      '/tiers/0/signers',
      /must NOT have fewer than 1 items/,
    ],
    [
      'a misspelt field',
      (p: Record<string, unknown>) => {
        p.tiers = [{ upto: 25000, signers: ['care-coordinator'] }, { signers: ['team-lead'] }];
      },
      '/tiers/0/upto',
      /is not a field of a sign-off policy/,
    ],
    [
      'two limits for one kind',
      (p: Record<string, unknown>) => {
        p.itemLimits = [
          { kind: 'one-off', upTo: 45000 },
          { kind: 'one-off', upTo: 50000 },
        ];
      },
      '/itemLimits/1/kind',
      /one-off already has an item limit/,
    ],
    [
      'a limit for a kind the policy does not cover',
      (p: Record<string, unknown>) => {
        p.appliesTo = ['one-off'];
        p.itemLimits = [{ kind: 'ongoing', upTo: 45000 }];
      },
      '/itemLimits/0/kind',
      /does not apply to ongoing PHBs/,
    ],
  ])('%s', (_name, breakIt, pointer, message) => {
    const document = good();
    breakIt(document);
    const e = policyError(document);
    expect(e.file).toBe(FILE);
    expect(e.problems).toEqual(expect.arrayContaining([{ pointer, message: expect.stringMatching(message) }]));
    expect(e.message).toContain(`Sign-off policy ${FILE}:\n`);
    expect(e.message).toContain(`${pointer}: `);
  });

  it('names every problem at once', () => {
    const document = good();
    delete document.version;
    document.tiers = [{ upTo: 250.5, signers: ['finance-director'] }, { signers: ['team-lead'] }];
    expect(policyError(document).problems.map((p) => p.pointer)).toEqual(
      expect.arrayContaining(['/version', '/tiers/0/upTo', '/tiers/0/signers/0']),
    );
  });

  it('says when the file is not JSON, or cannot be read', () => {
    expect(policyError('{ "id": ').message).toMatch(
      /^Sign-off policy policies\/test-policy\.json:\n {2}\(document\): is not valid JSON/,
    );
    expect(() => loadPolicy('no-such-policy')).toThrow(
      new RegExp(
        `Sign-off policy ${path.join(POLICIES_DIR, 'no-such-policy.json')}:\\n {2}\\(document\\): cannot be read \\(ENOENT\\)`,
      ),
    );
  });
});
