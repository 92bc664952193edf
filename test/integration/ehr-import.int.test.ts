import type { Goal } from 'fhir/r4.js';
import { importTransaction, readEhrBundle } from '../../src/fhir/ehrImport.js';
import * as goalMapper from '../../src/fhir/goal.js';
import { EHR_GOAL_SYSTEM, ehrBundle } from '../support/ehrBundle.js';
import { testStore, uniqueId } from '../support/hapi.js';

const store = testStore();

describe('goals in from a secondary care EHR', () => {
  it('reads the person, goals and care plan from a good Bundle', () => {
    const { submission, issues } = readEhrBundle(
      ehrBundle('9990079196', [{ id: 'G1', text: 'I want to keep my allotment going.' }], true),
    );
    expect(issues).toEqual([]);
    expect(submission?.nhsNumber).toBe('9990079196');
    expect(submission?.goals.map((g) => [g.entry, g.goal.text, g.goal.sourceIdentifiers])).toEqual([
      [1, 'I want to keep my allotment going.', [{ system: EHR_GOAL_SYSTEM, value: 'G1' }]],
    ]);
    expect(submission?.carePlan?.entry).toBe(2);
  });

  it('names every bad entry and returns nothing to store', () => {
    const bundle = ehrBundle('9990079197', [
      { id: 'G1', text: 'ok' },
      { id: 'G2', text: '' },
    ]);
    const goalEntry = bundle.entry?.[1]?.resource as Goal;
    goalEntry.identifier = [];
    const { submission, issues } = readEhrBundle(bundle);
    expect(submission).toBeUndefined();
    expect(issues.map((i) => i.location)).toEqual([
      'Bundle.entry[0].resource.identifier[0].value',
      'Bundle.entry[1].resource.identifier',
      'Bundle.entry[2].resource.description.text',
    ]);
    expect(issues[0]?.diagnostics).toMatch(/Modulus 11/);
    expect(JSON.stringify(issues)).not.toContain('9990079197');
  });

  it('stores one set of goals however often the same Bundle is sent, and updates a changed text', async () => {
    const patientId = uniqueId('pt');
    await store.update({ resourceType: 'Patient', id: patientId, birthDate: '1984-03-12' });
    const g1 = uniqueId('G');
    const g2 = uniqueId('G');
    const send = async (text: string): Promise<void> => {
      const { submission } = readEhrBundle(
        ehrBundle(
          '9990079196',
          [
            { id: g1, text },
            { id: g2, text: 'I want to see my friends weekly.', achievement: 'improving' },
          ],
          true,
        ),
      );
      if (!submission) throw new Error('bad bundle');
      await store.transaction(importTransaction(patientId, submission));
    };
    await send('I want to keep my allotment going.');
    await send('I want to keep my allotment going.');
    let goals = await store.search<Goal>('Goal', { patient: `Patient/${patientId}` });
    expect(goals.entry?.map((e) => goalMapper.fromFhir(e.resource as Goal).text).sort()).toEqual([
      'I want to keep my allotment going.',
      'I want to see my friends weekly.',
    ]);
    expect((await store.search('CarePlan', { patient: `Patient/${patientId}` })).entry).toHaveLength(1);

    await send('I want to keep my allotment going and grow vegetables for my family.');
    goals = await store.search<Goal>('Goal', { patient: `Patient/${patientId}` });
    expect(goals.entry).toHaveLength(2);
    const changed = goals.entry?.map((e) => e.resource as Goal).find((g) => g.identifier?.[0]?.value === g1);
    expect(changed?.description.text).toBe('I want to keep my allotment going and grow vegetables for my family.');
    expect(changed?.meta?.versionId).toBe('2');
  });
});
